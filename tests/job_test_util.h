// Helpers for tests that run whole training jobs (mpirun, Slurm): a run's
// metrics, commands in the background, and waiting with bounds.
#pragma once

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "common/util/file.h"
#include "tests/test_util.h"

namespace prlm::testing {

// What a job test needs in `dir`: 24 synthetic users (data/, corpus.txt), a
// 1024-token tokenizer (tok/), and a random one-layer decoder policy (model_type qwen2) at `policy`.
inline ShellResult MakeTinyJobInputs(const std::string& prlm, const std::string& dir, const std::string& policy) {
  return Shell(prlm + " make-synthetic --users 24 --seed 3 --out " + dir + "/data --corpus " + dir + "/corpus.txt && " +
               prlm + " train-tokenizer --vocab-size 1024 --out " + dir + "/tok " + dir + "/corpus.txt && " + prlm +
               " init-model --tokenizer " + dir + "/tok/tokenizer.json --out " + policy +
               " num_hidden_layers=1 hidden_size=64 intermediate_size=128");
}

// RUN/metrics.jsonl, one object per line.
inline std::vector<nlohmann::json> Metrics(const std::string& run) {
  std::vector<nlohmann::json> out;
  std::ifstream in(run + "/metrics.jsonl");
  for (std::string line; std::getline(in, line);) out.push_back(nlohmann::json::parse(line));
  return out;
}

// Starts `prlm train` in the background; returns the file its exit code lands in.
inline std::string StartInBackground(const std::string& cmd, const std::string& base) {
  std::system(("(" + cmd + " > " + base + ".out 2>&1; echo $? > " + base + ".rc) &").c_str());
  return base + ".rc";
}

// Waits (at most `limit`) until the run has `steps` metrics lines; says whether it has.
// Whether a metrics.jsonl key measures time or rank 0's cost, or the
// sampler-vs-learner mismatch (float rounding, about 1e-8 on-policy in fp32,
// which moves with the ranks' thread counts), rather than a function of the
// data and the seeds: it varies run to run.
inline bool VariesRunToRun(const std::string& key) {
  return key.rfind("timing_s/", 0) == 0 || key.rfind("coordinator/", 0) == 0 || key.rfind("rollout_corr/", 0) == 0 ||
         key == "perf/throughput";
}

// Two runs' metrics agree step by step on every key that does not vary run
// to run (what a resumed or differently synced run must reproduce).
inline void ExpectSameMetrics(const std::string& run_a, const std::string& run_b, size_t steps) {
  const auto a = Metrics(run_a), b = Metrics(run_b);
  ASSERT_EQ(a.size(), steps) << run_a;
  ASSERT_EQ(b.size(), steps) << run_b;
  for (size_t i = 0; i < steps; ++i)
    for (const auto& [key, value] : a[i].items())
      if (!VariesRunToRun(key)) EXPECT_EQ(value, b[i][key]) << "step " << i + 1 << " " << key;
}

// ... and end with the same policy bytes (checkpoint `step`).
inline void ExpectSamePolicy(const std::string& run_a, const std::string& run_b, int64_t step) {
  char dir[32];
  std::snprintf(dir, sizeof dir, "/checkpoints/step-%08lld", static_cast<long long>(step));
  const std::string file = std::string(dir) + "/policy/model.safetensors";
  EXPECT_EQ(util::ReadFile(run_a + file), util::ReadFile(run_b + file)) << file;
}

// Every rank's log of a run, one after another.
inline std::string AllRankLogs(const std::string& run, int ranks) {
  std::string logs;
  for (int rank = 0; rank < ranks; ++rank) logs += util::ReadFile(run + "/logs/rank-" + std::to_string(rank) + ".log");
  return logs;
}

inline bool WaitForSteps(const std::string& run, size_t steps, std::chrono::seconds limit) {
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (Metrics(run).size() < steps && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  return Metrics(run).size() >= steps;
}

// Waits (at most `limit`) until a step's metrics line has `key` equal to
// `value`; says whether one has.
inline bool WaitForMetric(const std::string& run, const std::string& key, int64_t value, std::chrono::seconds limit) {
  const auto some_step_has = [&] {
    for (const auto& m : Metrics(run))
      if (m.contains(key) && m[key] == value) return true;
    return false;
  };
  const auto give_up = std::chrono::steady_clock::now() + limit;
  while (!some_step_has() && std::chrono::steady_clock::now() < give_up)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  return some_step_has();
}

// Expects `run` to have learnt what `reference` learnt, step for step (the
// same number of steps; reward, loss, gradient norm and length equal);
// returns the rollout workers the run lost over its steps.
inline int64_t ExpectSameLearningCountingLostWorkers(const std::vector<nlohmann::json>& reference,
                                                     const std::vector<nlohmann::json>& run) {
  EXPECT_EQ(run.size(), reference.size());
  int64_t lost = 0;
  for (size_t s = 0; s < std::min(run.size(), reference.size()); ++s) {
    for (const char* key : {"critic/score/mean", "actor/pg_loss", "actor/grad_norm", "response_length/mean"})
      EXPECT_EQ(reference[s][key], run[s][key]) << key << " at step " << s + 1;
    lost += run[s].value("rollout/lost_workers", int64_t{0});
  }
  return lost;
}

// The PID that a rank's log names, or -1.
inline long PidOfRank(const std::string& run, int rank) {
  const std::string path = run + "/logs/rank-" + std::to_string(rank) + ".log";
  if (!std::filesystem::exists(path)) return -1;
  const std::string log = util::ReadFile(path);
  const size_t at = log.find("(pid ");
  return at == std::string::npos ? -1 : std::stol(log.substr(at + 5));
}

// Waits for the run's first metrics line; returns the PID that rank's log names.
inline long WaitForStepThenPidOf(const std::string& run, int rank) {
  return WaitForSteps(run, 1, std::chrono::seconds(120)) ? PidOfRank(run, rank) : -1;
}

inline bool WaitForFile(const std::string& path, std::chrono::seconds limit) {
  const auto start = std::chrono::steady_clock::now();
  while (!std::filesystem::exists(path) && std::chrono::steady_clock::now() - start < limit)
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));  // the echo finishes writing
  return std::filesystem::exists(path);
}

}  // namespace prlm::testing
