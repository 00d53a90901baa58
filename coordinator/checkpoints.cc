#include "coordinator/checkpoints.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::coordinator {

namespace fs = std::filesystem;

std::string CheckpointDir(const std::string& run_dir, int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step-%08lld", static_cast<long long>(step));
  return (fs::path(run_dir) / "checkpoints" / name).string();
}

std::vector<std::string> ListCheckpoints(const std::string& run_dir) {
  std::vector<std::string> out;
  const fs::path root = fs::path(run_dir) / "checkpoints";
  if (!fs::is_directory(root)) return out;
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (e.is_directory() && name.rfind("step-", 0) == 0 && name.find('.') == std::string::npos &&
        fs::exists(e.path() / "trainer_state.json"))
      out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());  // zero-padded step numbers sort in step order
  return out;
}

std::string ResolveResume(const std::string& run_dir, const std::string& resume) {
  if (resume.empty()) return "";
  if (resume == "auto") {
    const auto all = ListCheckpoints(run_dir);
    return all.empty() ? "" : all.back();
  }
  PRLM_REQUIRE(fs::exists(fs::path(resume) / "trainer_state.json"),
               "trainer.resume: '" << resume << "' is not a complete checkpoint (no trainer_state.json there)");
  return resume;
}

void WriteTrainerState(const std::string& dir, const TrainerState& s) {
  nlohmann::ordered_json j;
  j["step"] = s.step;
  j["epoch"] = s.cursor.epoch;
  j["position"] = s.cursor.position;
  j["weight_version"] = s.weight_version;
  j["total_steps"] = s.total_steps;
  WriteFileAtomic(dir + "/trainer_state.json", j.dump(2) + "\n");
}

TrainerState ReadTrainerState(const std::string& dir) {
  const std::string path = dir + "/trainer_state.json";
  TrainerState s;
  try {
    const auto j = nlohmann::json::parse(ReadFile(path));
    s.step = j.at("step").get<int64_t>();
    s.cursor.epoch = j.at("epoch").get<int64_t>();
    s.cursor.position = j.at("position").get<int64_t>();
    s.weight_version = j.at("weight_version").get<int64_t>();
    s.total_steps = j.at("total_steps").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW(path << ": " << e.what());
  }
  PRLM_REQUIRE(s.step >= 0 && s.cursor.epoch >= 0 && s.cursor.position >= 0,
               path << ": negative step, epoch or position");
  return s;
}

void CommitCheckpoint(const std::string& run_dir, const std::string& dir, int64_t keep_last) {
  if (fs::exists(dir)) fs::remove_all(dir);
  fs::rename(dir + ".tmp", dir);
  auto all = ListCheckpoints(run_dir);
  for (size_t i = 0; i + static_cast<size_t>(keep_last) < all.size(); ++i) fs::remove_all(all[i]);
}

}  // namespace prlm::coordinator
