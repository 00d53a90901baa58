// prlm bench scale: the real job at 8..64 ranks on this machine, with model
// compute replaced by sleeps (simulate.*, docs/scale.md): the coordinator,
// retrieval and reward services, their protocols, MPI messages and the
// learners' all-reduce run for real; generation, the reward model and the
// update sleep at rates measured on real runs.
//
// For each world size N (ranks oversubscribe this machine's cores; the
// sleeps cost no CPU) a layout scaled with N: 1 coordinator, N/16 retrieval
// shards and reward servers (at least 1), --learner-share x N learners (at
// least 1), the rest rollout workers, each given --prompts-per-worker
// prompts a step (weak scaling: every rank's share stays about the same).
// It runs warm-up steps, measured steps and one more one step off
// (grpo.max_staleness 1; the last step has no next step's work to send, so
// its messages differ), samples every rank's resident memory, and prints one
// JSON object per N:
//   step_s          mean wall seconds of the measured steps
//   ideal_s         max(a worker's generation + a reward server's share of
//                   the step's sequences, a learner's update) at the
//                   simulated rates (the rollout runs beside the update, one
//                   step off): the step if nothing else cost time
//   coordinator_*   rank 0's CPU seconds, messages and bytes per step
//   rss_mib_*       resident memory per rank (mean and largest, at the peak)
//   job_cores_busy  every rank's CPU seconds over the job's wall seconds:
//                   near this machine's core count, the ranks' own work
//                   (polling, parsing, retrieval) is what stretches steps
//
// Rates: flags, or --calibrate RUN for those not given: a real run's
// metrics.jsonl (its steps after the first): a rollout worker's sampled
// tokens per generation second (prefill folded in), a learner's tokens per
// second of its reference, old-policy and update passes, and the reward
// request's seconds as the per-batch cost.
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <thread>

#include "bench/bench.h"
#include "common/config/train_config.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "common/util/json_lines.h"
#include "options/args.h"

namespace prlm::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// The rates are simulate.*'s fields (its `enabled` unused here).
using Rates = config::SimulateConfig;

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return v.empty() ? 0 : s / static_cast<double>(v.size());
}

std::vector<nlohmann::json> ReadMetrics(const std::string& run) {
  std::vector<nlohmann::json> out;
  util::ForEachJsonLine(run + "/metrics.jsonl",
                        [&](const nlohmann::json& m, const std::string&, size_t) { out.push_back(m); });
  return out;
}

double Get(const nlohmann::json& m, const char* key, const std::string& where) {
  PRLM_REQUIRE(m.contains(key) && m[key].is_number(), where << ": no number '" << key << "'");
  return m[key].get<double>();
}

// A real run's rates (see the header comment).
Rates Calibrate(const std::string& run) {
  const config::TrainConfig c = config::TrainConfig::Load(run + "/config.yaml", {});
  config::Layout l = c.layout;
  if (l.unset()) {
    int64_t ranks = 0;
    for (const auto& e : fs::directory_iterator(run + "/logs"))
      if (e.path().filename().string().rfind("rank-", 0) == 0) ++ranks;
    l = config::DefaultLayout(ranks);
  }
  const auto metrics = ReadMetrics(run);
  PRLM_REQUIRE(metrics.size() >= 2, run << "/metrics.jsonl has " << metrics.size()
                                        << " steps; calibrating needs at least 2 (the first is left out)");
  std::vector<double> decode, learn, reward;
  for (size_t i = 1; i < metrics.size(); ++i) {
    const auto& m = metrics[i];
    const std::string where = run + "/metrics.jsonl step " + std::to_string(i + 1);
    const double per_worker = Get(m, "training/sequences", where) / static_cast<double>(l.rollout);
    decode.push_back(per_worker * Get(m, "response_length/mean", where) / Get(m, "timing_s/gen", where));
    const double learn_s =
        Get(m, "timing_s/old_log_prob", where) + Get(m, "timing_s/ref", where) + Get(m, "timing_s/update_actor", where);
    learn.push_back(Get(m, "perf/total_num_tokens", where) / static_cast<double>(l.learners) / learn_s);
    reward.push_back(Get(m, "timing_s/reward", where));
  }
  Rates r;
  r.decode_tokens_per_s = Mean(decode);
  r.learn_tokens_per_s = Mean(learn);
  r.reward_batch_s = Mean(reward);
  return r;
}

struct RankSample {
  int64_t rss_kib = 0;
  double cpu_s = 0;  // user + system so far
};

// The processes whose command line contains `tag` (not mpirun itself), by pid.
std::map<std::string, RankSample> SampleRanks(const std::string& tag) {
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK));
  std::map<std::string, RankSample> out;
  for (const auto& e : fs::directory_iterator("/proc")) {
    const std::string pid = e.path().filename().string();
    if (pid.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream cmd(e.path() / "cmdline");
    std::string cmdline((std::istreambuf_iterator<char>(cmd)), std::istreambuf_iterator<char>());
    if (cmdline.find(tag) == std::string::npos || cmdline.rfind("mpirun", 0) == 0) continue;
    RankSample r;
    std::ifstream status(e.path() / "status");
    for (std::string line; std::getline(status, line);)
      if (line.rfind("VmRSS:", 0) == 0) r.rss_kib = std::stoll(line.substr(6));
    // /proc/PID/stat: utime and stime are the 14th and 15th fields, counted
    // after the parenthesised command name (which may hold spaces).
    std::ifstream stat(e.path() / "stat");
    std::string text((std::istreambuf_iterator<char>(stat)), std::istreambuf_iterator<char>());
    const size_t close = text.rfind(')');
    if (close != std::string::npos) {
      std::istringstream fields(text.substr(close + 2));
      std::string f;
      double utime = 0, stime = 0;
      for (int i = 3; i <= 15 && fields >> f; ++i) {
        if (i == 14) utime = std::stod(f);
        if (i == 15) stime = std::stod(f);
      }
      r.cpu_s = (utime + stime) / ticks;
    }
    out[pid] = r;
  }
  return out;
}

struct Run {
  int code = 0;
  double seconds = 0;
  int64_t peak_total_kib = 0, peak_max_kib = 0;
  size_t peak_ranks = 0;
  double cpu_s = 0;  // every rank's CPU seconds, as last sampled
};

// Runs argv (output to `log`), sampling the processes tagged `tag` twice a
// second: resident memory (the peak of the sum) and CPU time.
Run RunSampling(const std::vector<std::string>& argv, const std::string& log, const std::string& tag) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  const auto t0 = Clock::now();
  const pid_t pid = fork();
  PRLM_REQUIRE(pid >= 0, "fork failed");
  if (pid == 0) {
    FILE* out = std::freopen(log.c_str(), "w", stdout);
    if (out) dup2(fileno(stdout), STDERR_FILENO);
    execvp(args[0], args.data());
    std::perror("execvp mpirun");
    _exit(127);
  }
  Run r;
  std::map<std::string, double> cpu;
  int status = 0;
  while (waitpid(pid, &status, WNOHANG) == 0) {
    int64_t total = 0, largest = 0;
    const auto ranks = SampleRanks(tag);
    for (const auto& [p, s] : ranks) {
      total += s.rss_kib;
      largest = std::max(largest, s.rss_kib);
      cpu[p] = s.cpu_s;
    }
    if (total > r.peak_total_kib) r.peak_total_kib = total, r.peak_ranks = ranks.size(), r.peak_max_kib = largest;
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
  for (const auto& [p, s] : cpu) r.cpu_s += s;
  r.code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  r.seconds = std::chrono::duration<double>(Clock::now() - t0).count();
  return r;
}

config::Layout ScaledLayout(int64_t ranks, double learner_share) {
  config::Layout l;
  l.retrieval = std::max<int64_t>(1, ranks / 16);
  l.reward = std::max<int64_t>(1, ranks / 16);
  l.learners = std::max<int64_t>(1, std::llround(learner_share * static_cast<double>(ranks)));
  l.rollout = ranks - 1 - l.retrieval - l.reward - l.learners;
  PRLM_REQUIRE(l.rollout >= 1, ranks << " ranks leave no rollout worker with --learner-share " << learner_share);
  return l;
}

}  // namespace

int BenchScale(int argc, char** argv) {
  options::Args args("bench scale",
                     "The real job at each world size with model compute replaced by calibrated sleeps\n"
                     "(simulate.*): step time vs the ideal, rank 0's CPU seconds, messages and bytes per\n"
                     "step, resident memory per rank. Ranks oversubscribe this machine's cores.");
  args.Option("config", "FILE", "", "the job's config (model.policy, data.dir, ...)", true)
      .Option("ranks", "LIST", "8,16,32,64", "world sizes")
      .Option("steps", "N", "6", "measured steps per world size")
      .Option("warmup", "N", "2", "steps run first and left out")
      .Option("prompts-per-worker", "N", "2", "prompts per rollout worker per step")
      .Option("learner-share", "X", "0.125", "learners as a share of the ranks (at least 1)")
      .Option("out", "DIR", "runs/bench-scale", "where the runs go")
      .Option("calibrate", "RUN", "", "rates not given below from a real run's directory (metrics.jsonl, config.yaml)")
      .Option("completion-tokens", "N", "256", "every sample's length")
      .Option("decode-tps", "X", "1000", "a rollout worker's sampled tokens/s")
      .Option("prefill-tps", "X", "0", "a rollout worker's prompt tokens/s (0: free)")
      .Option("learn-tps", "X", "10000", "a learner's tokens/s over its update")
      .Option("reward-batch-s", "X", "0.02", "the reward model's seconds per batch")
      .Option("reward-sequence-s", "X", "0.001", "and per sequence")
      .Flag("elastic", "rollout.elastic=true: workers take work from the gateway, weights by relay");
  if (!args.Parse(argc, argv)) return 0;
  // The flags' rates; --calibrate replaces those not given explicitly.
  Rates rates;
  rates.completion_tokens = args.GetInt("completion-tokens");
  rates.prefill_tokens_per_s = std::stod(args.Get("prefill-tps"));
  rates.decode_tokens_per_s = std::stod(args.Get("decode-tps"));
  rates.learn_tokens_per_s = std::stod(args.Get("learn-tps"));
  rates.reward_batch_s = std::stod(args.Get("reward-batch-s"));
  rates.reward_sequence_s = std::stod(args.Get("reward-sequence-s"));
  if (!args.Get("calibrate").empty()) {
    const Rates measured = Calibrate(args.Get("calibrate"));
    if (!args.Has("decode-tps")) rates.decode_tokens_per_s = measured.decode_tokens_per_s;
    if (!args.Has("learn-tps")) rates.learn_tokens_per_s = measured.learn_tokens_per_s;
    if (!args.Has("reward-batch-s") && !args.Has("reward-sequence-s")) {
      rates.reward_batch_s = measured.reward_batch_s;
      rates.reward_sequence_s = 0;
    }
  }
  const std::string config_path = args.Get("config");
  const config::TrainConfig base = config::TrainConfig::Load(config_path, {});
  const int64_t warmup = args.GetInt("warmup"), steps = args.GetInt("steps"), ppw = args.GetInt("prompts-per-worker");
  PRLM_REQUIRE(steps >= 1 && warmup >= 1 && ppw >= 1, "--steps, --warmup and --prompts-per-worker must be >= 1");
  const bool elastic = args.GetFlag("elastic");
  const std::string self = fs::read_symlink("/proc/self/exe").string();
  std::fprintf(stderr,
               "bench scale: rates: %lld-token completions, decode %.1f tokens/s per worker, prefill %s, learn %.1f "
               "tokens/s per learner, reward %.4f s per batch + %.4f s per sequence\n",
               static_cast<long long>(rates.completion_tokens), rates.decode_tokens_per_s,
               rates.prefill_tokens_per_s > 0 ? std::to_string(rates.prefill_tokens_per_s).c_str() : "free",
               rates.learn_tokens_per_s, rates.reward_batch_s, rates.reward_sequence_s);

  for (const int64_t n : args.GetPositiveInts("ranks")) {
    PRLM_REQUIRE(n >= 6, "--ranks: " << n << " is too few (a scaled layout needs at least 6)");
    const config::Layout l = ScaledLayout(n, std::stod(args.Get("learner-share")));
    const int64_t prompts = l.rollout * ppw;
    const std::string run = fs::absolute(args.Get("out") + "/ranks-" + std::to_string(n)).string();
    fs::remove_all(run);
    fs::create_directories(run);
    std::vector<std::string> cmd = {"mpirun", "-np", std::to_string(n), "--oversubscribe", "--bind-to", "none"};
    if (geteuid() == 0) cmd.push_back("--allow-run-as-root");
    if (elastic)
      for (const char* f :
           {"--enable-recovery", "--mca", "orte_abort_on_non_zero_status", "0", "--mca", "async_mpi_finalize", "1"})
        cmd.push_back(f);
    for (const std::string& a : {self,
                                 std::string("train"),
                                 std::string("--config"),
                                 config_path,
                                 "trainer.output_dir=" + run,
                                 "trainer.total_steps=" + std::to_string(warmup + steps + 1),
                                 "trainer.prompts_per_step=" + std::to_string(prompts),
                                 std::string("trainer.save_every=0"),
                                 std::string("grpo.max_staleness=1"),
                                 std::string("logging.tensorboard=false"),
                                 std::string("logging.prometheus_port=-1"),
                                 "layout.retrieval=" + std::to_string(l.retrieval),
                                 "layout.reward=" + std::to_string(l.reward),
                                 "layout.rollout=" + std::to_string(l.rollout),
                                 "layout.learners=" + std::to_string(l.learners),
                                 std::string("rollout.elastic=") + (elastic ? "true" : "false"),
                                 std::string("simulate.enabled=true"),
                                 "simulate.completion_tokens=" + std::to_string(rates.completion_tokens),
                                 "simulate.prefill_tokens_per_s=" + std::to_string(rates.prefill_tokens_per_s),
                                 "simulate.decode_tokens_per_s=" + std::to_string(rates.decode_tokens_per_s),
                                 "simulate.learn_tokens_per_s=" + std::to_string(rates.learn_tokens_per_s),
                                 "simulate.reward_batch_s=" + std::to_string(rates.reward_batch_s),
                                 "simulate.reward_sequence_s=" + std::to_string(rates.reward_sequence_s)})
      cmd.push_back(a);
    std::fprintf(stderr, "bench scale: %lld ranks (%lld rollout, %lld learners, %lld retrieval, %lld reward), %s\n",
                 static_cast<long long>(n), static_cast<long long>(l.rollout), static_cast<long long>(l.learners),
                 static_cast<long long>(l.retrieval), static_cast<long long>(l.reward), run.c_str());
    const Run r = RunSampling(cmd, run + ".log", "trainer.output_dir=" + run);
    PRLM_REQUIRE(r.code == 0, "the " << n << "-rank job failed (exit " << r.code << "); see " << run << ".log");

    // The measured steps.
    const auto metrics = ReadMetrics(run);
    PRLM_REQUIRE(static_cast<int64_t>(metrics.size()) == warmup + steps + 1,
                 run << "/metrics.jsonl has " << metrics.size() << " steps, not " << warmup + steps + 1);
    std::vector<double> step_s, cpu_s, messages, bytes, ideal;
    for (size_t i = static_cast<size_t>(warmup); i < static_cast<size_t>(warmup + steps); ++i) {
      const auto& m = metrics[i];
      const std::string where = run + "/metrics.jsonl step " + std::to_string(i + 1);
      step_s.push_back(Get(m, "timing_s/step", where));
      cpu_s.push_back(Get(m, "coordinator/cpu_seconds", where));
      messages.push_back(Get(m, "coordinator/messages", where));
      bytes.push_back(Get(m, "coordinator/bytes", where));
      // What one worker and one learner would take at the simulated rates.
      const double samples = Get(m, "training/sequences", where) / static_cast<double>(l.rollout);
      const double prompt_tokens =
          samples / static_cast<double>(base.grpo.group_size) * Get(m, "prompt_length/mean", where);
      const double gen = (rates.prefill_tokens_per_s > 0 ? prompt_tokens / rates.prefill_tokens_per_s : 0) +
                         samples * static_cast<double>(rates.completion_tokens) / rates.decode_tokens_per_s;
      // The workers generate side by side, then a reward server scores its
      // whole share of the step's sequences, batched full.
      const double served = Get(m, "training/sequences", where) / static_cast<double>(l.reward);
      const double reward = std::ceil(served / static_cast<double>(base.reward.max_batch_size)) * rates.reward_batch_s +
                            served * rates.reward_sequence_s;
      const double learn =
          Get(m, "perf/total_num_tokens", where) / static_cast<double>(l.learners) / rates.learn_tokens_per_s;
      ideal.push_back(std::max(gen + reward, learn));
    }
    const double per_rank_mib = r.peak_ranks ? r.peak_total_kib / 1024.0 / static_cast<double>(r.peak_ranks) : 0;
    const nlohmann::json j = {
        {"bench", "scale"},
        {"ranks", n},
        {"elastic", elastic},
        {"layout",
         {{"rollout", l.rollout}, {"learners", l.learners}, {"retrieval", l.retrieval}, {"reward", l.reward}}},
        {"prompts_per_step", prompts},
        {"sequences_per_step", prompts * base.grpo.group_size},
        {"measured_steps", steps},
        {"step_s", Mean(step_s)},
        {"ideal_s", Mean(ideal)},
        {"step_over_ideal", Mean(step_s) / std::max(1e-9, Mean(ideal))},
        {"coordinator_cpu_s_per_step", Mean(cpu_s)},
        {"coordinator_messages_per_step", Mean(messages)},
        {"coordinator_bytes_per_step", Mean(bytes)},
        {"rss_mib_per_rank", per_rank_mib},
        {"rss_mib_max_rank", r.peak_max_kib / 1024.0},
        {"rss_ranks_seen", r.peak_ranks},
        {"job_s", r.seconds},
        {"job_cores_busy", r.cpu_s / std::max(1e-9, r.seconds)}};
    std::printf("%s\n", j.dump().c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace prlm::bench
