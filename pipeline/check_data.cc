#include "pipeline/check_data.h"

#include <chrono>
#include <filesystem>

#include "common/util/check.h"

namespace prlm::pipeline {

namespace fs = std::filesystem;

void CheckData(const std::string& path, const data::TaskSpec* task, const std::string& outputs_path, FILE* out) {
  const auto timed = [out](auto load) {
    const auto t0 = std::chrono::steady_clock::now();
    const data::Dataset ds = load();
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    std::fprintf(out, "== %s (loaded in %.2f s)\n%s", ds.source.c_str(), seconds,
                 data::FormatStats(ds, data::ComputeStats(ds)).c_str());
  };
  if (fs::is_directory(path)) {
    // Every split is checked; a bad one is reported and does not hide the others.
    int found = 0, failed = 0;
    for (const char* split : {"train", "dev", "test", "val"}) {
      if (!fs::exists(path + "/" + split + "_questions.json")) continue;
      ++found;
      try {
        timed([&] { return data::LoadLampSplit(path, split, task); });
      } catch (const util::Error& e) {
        std::fprintf(out, "== %s/%s_questions.json: FAILED\n%s\n", path.c_str(), split, e.what());
        ++failed;
      }
    }
    PRLM_REQUIRE(found, path << ": no {train,dev,test,val}_questions.json here");
    PRLM_REQUIRE(!failed, failed << " of " << found << " splits of " << path << " failed (above)");
  } else if (task && task->benchmark == data::Benchmark::kLongLamp) {
    timed([&] { return data::LoadLongLamp(path, *task); });
  } else {
    PRLM_REQUIRE(fs::exists(path), path << ": no such file or directory");
    timed([&] { return data::LoadLamp(path, outputs_path, task); });
  }
}

}  // namespace prlm::pipeline
