#include "coordinator/checkpoints.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/util/check.h"
#include "common/util/crc32c.h"
#include "common/util/file.h"
#include "common/util/logging.h"

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
    std::string faults;
    for (auto it = all.rbegin(); it != all.rend(); ++it) {
      const std::string fault = VerifyCheckpoint(*it);
      if (fault.empty()) return *it;
      spdlog::warn("checkpoint {} is damaged ({}); trying the one before it", *it, fault);
      faults += "\n  " + fault;
    }
    PRLM_REQUIRE(all.empty(), "trainer.resume=auto: every checkpoint under "
                                  << run_dir << "/checkpoints is damaged:" << faults
                                  << "\n(move them away to start over, or resume from a copy)");
    return "";
  }
  PRLM_REQUIRE(fs::exists(fs::path(resume) / "trainer_state.json"),
               "trainer.resume: '" << resume << "' is not a complete checkpoint (no trainer_state.json there)");
  const std::string fault = VerifyCheckpoint(resume);
  PRLM_REQUIRE(fault.empty(), "trainer.resume: " << fault);
  return resume;
}

std::string PolicyOfRun(const std::string& dir) {
  if (dir.empty() || fs::exists(dir + "/config.json") || !fs::is_directory(dir + "/checkpoints")) return dir;
  const std::string checkpoint = ResolveResume(dir, "auto");
  PRLM_REQUIRE(!checkpoint.empty(), "model.policy " << dir << " is a training run with no checkpoint yet");
  return checkpoint + "/policy";
}

namespace {
constexpr const char* kManifest = "manifest.json";
constexpr const char* kTrainerState = "trainer_state.json";

std::string Hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}
}  // namespace

void WriteManifest(const std::string& dir) {
  nlohmann::ordered_json files = nlohmann::ordered_json::object();
  std::vector<fs::path> paths;
  for (const auto& e : fs::recursive_directory_iterator(dir))
    if (e.is_regular_file()) paths.push_back(e.path());
  std::sort(paths.begin(), paths.end());
  for (const auto& p : paths) {
    const std::string rel = fs::relative(p, dir).string();
    if (rel == kManifest || rel == kTrainerState) continue;
    uint64_t size = 0;
    const uint32_t crc = util::FileCrc32c(p.string(), &size);
    files[rel] = {{"size", size}, {"crc32c", Hex(crc)}};
  }
  util::WriteFileAtomic(dir + "/" + kManifest, nlohmann::ordered_json{{"files", files}}.dump(1) + "\n");
}

std::string VerifyCheckpoint(const std::string& dir) {
  try {
    ReadTrainerState(dir);
  } catch (const util::Error& e) {
    return e.what();
  }
  const std::string manifest_path = dir + "/" + kManifest;
  if (!fs::exists(manifest_path)) return "";
  nlohmann::json manifest;
  try {
    manifest = nlohmann::json::parse(util::ReadFile(manifest_path));
    for (const auto& [rel, entry] : manifest.at("files").items()) {
      const std::string path = dir + "/" + rel;
      if (!fs::exists(path)) return path + " is missing (listed in " + kManifest + ")";
      const uint64_t want_size = entry.at("size").get<uint64_t>();
      uint64_t size = 0;
      const uint32_t crc = util::FileCrc32c(path, &size);
      if (size != want_size)
        return path + " has " + std::to_string(size) + " bytes, " + kManifest + " says " + std::to_string(want_size);
      if (Hex(crc) != entry.at("crc32c").get<std::string>())
        return path + ": checksum mismatch (CRC-32C " + Hex(crc) + ", " + kManifest + " says " +
               entry.at("crc32c").get<std::string>() + ")";
    }
  } catch (const nlohmann::json::exception& e) {
    return manifest_path + ": " + e.what();
  } catch (const util::Error& e) {
    return e.what();
  }
  return "";
}

void WriteTrainerState(const std::string& dir, const TrainerState& s) {
  nlohmann::ordered_json j;
  j["step"] = s.step;
  j["epoch"] = s.cursor.epoch;
  j["position"] = s.cursor.position;
  j["weight_version"] = s.weight_version;
  j["total_steps"] = s.total_steps;
  if (!s.out_steps.empty()) {
    j["out_steps"] = nlohmann::json::array();
    for (const auto& [step, version] : s.out_steps)
      j["out_steps"].push_back({{"step", step}, {"weight_version", version}});
  }
  util::WriteFileAtomic(dir + "/trainer_state.json", j.dump(2) + "\n");
}

TrainerState ReadTrainerState(const std::string& dir) {
  const std::string path = dir + "/trainer_state.json";
  TrainerState s;
  try {
    const auto j = nlohmann::json::parse(util::ReadFile(path));
    s.step = j.at("step").get<int64_t>();
    s.cursor.epoch = j.at("epoch").get<int64_t>();
    s.cursor.position = j.at("position").get<int64_t>();
    s.weight_version = j.at("weight_version").get<int64_t>();
    s.total_steps = j.at("total_steps").get<int64_t>();
    if (j.contains("out_steps"))
      for (const auto& o : j.at("out_steps"))
        s.out_steps.emplace_back(o.at("step").get<int64_t>(), o.at("weight_version").get<int64_t>());
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW(path << ": " << e.what());
  }
  PRLM_REQUIRE(s.step >= 0 && s.cursor.epoch >= 0 && s.cursor.position >= 0,
               path << ": negative step, epoch or position");
  return s;
}

void WriteKeptSet(const std::string& dir, const proto::KeptSet& kept) {
  util::WriteFileAtomic(dir + "/em_kept.binpb", kept.SerializeAsString());
}

proto::KeptSet ReadKeptSet(const std::string& dir) {
  const std::string path = dir + "/em_kept.binpb";
  PRLM_REQUIRE(fs::exists(path), path << " is missing: the checkpoint was not written by a grpo.objective=rest run");
  proto::KeptSet kept;
  PRLM_REQUIRE(kept.ParseFromString(util::ReadFile(path)), path << ": not a KeptSet (damaged?)");
  return kept;
}

void CommitCheckpoint(const std::string& run_dir, const std::string& dir, int64_t keep_last) {
  if (fs::exists(dir)) fs::remove_all(dir);
  fs::rename(dir + ".tmp", dir);
  auto all = ListCheckpoints(run_dir);
  for (size_t i = 0; i + static_cast<size_t>(keep_last) < all.size(); ++i) fs::remove_all(all[i]);
}

}  // namespace prlm::coordinator
