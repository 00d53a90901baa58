#include "common/comm/run_status.h"

#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "common/util/file.h"

namespace prlm::comm {

void WriteRunStatus(const std::string& run_dir, const std::string& state, int64_t step, int64_t total_steps) {
  nlohmann::json status = {{"state", state}, {"step", step}};
  if (total_steps >= 0) status["total_steps"] = total_steps;
  util::WriteFileAtomic(run_dir + "/status.json", status.dump() + "\n");
}

std::string ReadRunState(const std::string& run_dir) {
  const std::string path = run_dir + "/status.json";
  if (!std::filesystem::exists(path)) return "";
  const auto status = nlohmann::json::parse(util::ReadFile(path), nullptr, /*allow_exceptions=*/false);
  return status.is_object() && status.contains("state") && status["state"].is_string()
             ? status["state"].get<std::string>()
             : "";
}

void MarkRunFailed(const std::string& run_dir, const std::string& who, const std::string& message) noexcept {
  try {
    std::filesystem::create_directories(run_dir);
    int64_t step = 0;
    const std::string path = run_dir + "/status.json";
    if (std::filesystem::exists(path)) {
      const auto previous = nlohmann::json::parse(util::ReadFile(path), nullptr, /*allow_exceptions=*/false);
      // The first failure is the cause: ranks that fail after it (their
      // peers gone) leave its message in place.
      if (previous.is_object() && previous.value("state", "") == "failed") return;
      if (previous.is_object() && previous.contains("step") && previous["step"].is_number_integer())
        step = previous["step"].get<int64_t>();
    }
    nlohmann::json status = {{"state", "failed"}, {"step", step}, {"who", who}, {"message", message}};
    util::WriteFileAtomic(path, status.dump() + "\n");
  } catch (const std::exception& e) {
    std::fprintf(stderr, "could not mark %s/status.json failed: %s\n", run_dir.c_str(), e.what());
  }
}

}  // namespace prlm::comm
