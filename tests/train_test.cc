// `prlm train` end to end under mpirun, every role on localhost: a few GRPO
// steps with two of each scalable role, exact resume (2 + 2 steps == 4),
// LoRA checkpoints, one-step-off staleness, a bad config refused before
// anything starts, a damaged checkpoint refused naming the file (and
// resume=auto falling back to the previous one when the newest is), SIGUSR1 on
// a learner ending the job with a checkpoint (exit 0) that resumes, and a
// rank killed mid-step ending the job (no hang); REST-PG's EM iterations
// (the same kept sets with 1 or 2 rollout workers, resume inside an E-step
// and an M-step); `prlm eval` on the warm-started policy; and `prlm plan`'s
// memory estimates against the ranks' measured peaks.
//
// The suite's fixture makes synthetic data, a tokenizer trained on it, a tiny
// one-layer policy, and warm-starts it with the sft objective (so GRPO's
// samples have the answer format and rewards that differ within a group).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <sys/wait.h>

#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <thread>

#include "common/util/file.h"
#include "proto/train.pb.h"
#include "tests/job_test_util.h"
#include "tests/loopback_capture.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

using testing::Metrics;
using testing::Shell;
using testing::StartInBackground;
using testing::VariesRunToRun;
using testing::WaitForFile;
using testing::WaitForStepThenPidOf;
using Result = testing::ShellResult;

std::string Prlm() { return PRLM_BINARY; }
std::string Mpirun(int np) {
  return "timeout 600 mpirun --allow-run-as-root --oversubscribe -np " + std::to_string(np) + " " + Prlm() + " train";
}

// Reads every regular file under `dir` for any of `needles`: how many files
// were read, and "PATH holds NEEDLE" for each find.
struct FileScan {
  size_t files = 0;
  std::vector<std::string> finds;
};
FileScan ScanFiles(const std::string& dir, const std::vector<std::string>& needles) {
  FileScan scan;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file()) continue;
    ++scan.files;
    const std::string bytes = util::ReadFile(e.path().string());
    for (const auto& needle : needles)
      if (bytes.find(needle) != std::string::npos) scan.finds.push_back(e.path().string() + " holds " + needle);
  }
  return scan;
}

// The CPU threads a rank's start-up line ("rank R of N: ROLE on HOST (pid P,
// T CPU threads, ...)") says ROLE took; -1 when no such line.
int ThreadsOf(const std::string& out, const std::string& role) {
  std::smatch m;
  const std::regex line(role + " on [^ ]+ \\(pid [0-9]+, ([0-9]+) CPU threads");
  return std::regex_search(out, m, line) ? std::stoi(m[1]) : -1;
}
int Cores() { return static_cast<int>(std::max(1u, std::thread::hardware_concurrency())); }

// The personal text of the training split: each question, and each profile
// item's strings of 20 characters or more (shorter ones may occur by chance).
std::vector<std::string> PersonalTexts(const std::string& data_dir) {
  std::vector<std::string> personal;
  for (const auto& q : Json::parse(util::ReadFile(data_dir + "/train_questions.json"))) {
    personal.push_back(q["input"].get<std::string>());
    for (const auto& item : q["profile"])
      for (const auto& [key, value] : item.items())
        if (value.is_string() && value.get<std::string>().size() >= 20) personal.push_back(value.get<std::string>());
  }
  return personal;
}

// The ports a run's services listened on (their logs' "listening on port N").
std::set<uint16_t> ServicePorts(const std::string& run) {
  std::set<uint16_t> ports;
  for (const auto& e : fs::directory_iterator(run + "/logs")) {
    const std::string log = util::ReadFile(e.path().string());
    const size_t at = log.find("listening on port ");
    if (at != std::string::npos) ports.insert(static_cast<uint16_t>(std::stoi(log.substr(at + 18))));
  }
  return ports;
}

class TrainJob : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const std::string d = dir_->str();
    const auto prep = testing::MakeTinyJobInputs(Prlm(), d, d + "/random");
    ASSERT_EQ(prep.code, 0) << prep.out;
    std::ofstream(d + "/base.yaml") << "model: {policy: " << d << "/random}\n"
                                    << "data: {dir: " << d << "/data}\n"
                                    << "retrieval: {k: 1}\n"
                                    << "reward: {w_pers: 0}\n"
                                    << "grpo: {max_prompt_tokens: 400, max_completion_tokens: 32}\n"
                                    << "trainer: {prompts_per_step: 4, micro_batch_size: 4}\n"
                                    << "optim: {lr: 0.003, warmup_ratio: 0}\n";
    // net.tls is left at its default: every job here runs its services over
    // TLS, with the self-signed pair rank 0 makes.
    // The warm start: sft, which also checks that objective end to end.
    const auto sft = Shell(Mpirun(5) + " --config " + d + "/base.yaml grpo.objective=sft trainer.total_steps=30 " +
                           "trainer.prompts_per_step=8 optim.lr=0.01 trainer.output_dir=" + d + "/sft");
    ASSERT_EQ(sft.code, 0) << sft.out;
    const auto m = Metrics(d + "/sft");
    ASSERT_EQ(m.size(), 30u);
    EXPECT_LT(m.back()["actor/sft_loss"].get<double>(), 0.5 * m.front()["actor/sft_loss"].get<double>())
        << "sft must learn the target format";
    fs::rename(d + "/sft/checkpoints/step-00000030/policy", d + "/policy");
  }
  static void TearDownTestSuite() { delete dir_; }

  // `prlm train` on the warm-started policy; the config plus overrides.
  static Result Train(int np, const std::string& run, const std::string& overrides) {
    return Shell(Mpirun(np) + " --config " + dir_->str() + "/base.yaml model.policy=" + dir_->str() +
                 "/policy trainer.output_dir=" + run + " " + overrides);
  }
  // Train() in the background into D(name); returns the file its exit code lands in.
  static std::string TrainInBackground(const std::string& name, const std::string& overrides, int ranks = 5) {
    return StartInBackground(Mpirun(ranks) + " --config " + dir_->str() + "/base.yaml model.policy=" + dir_->str() +
                                 "/policy trainer.output_dir=" + D(name) + " " + overrides,
                             D(name));
  }
  static std::string D(const std::string& name) { return *dir_ / name; }

  static testing::TempDir* dir_;
};
testing::TempDir* TrainJob::dir_ = nullptr;

TEST_F(TrainJob, EveryRoleRunsGrpoStepsWithTwoOfEach) {
  // 1 coordinator + 2 retrieval shards + 1 reward server + 2 rollout workers + 2
  // learners; the services over TLS (the default) with the pair rank 0 makes.
  const std::string run = D("grpo");
  const auto r = Train(8, run,
                       "trainer.total_steps=3 layout.retrieval=2 layout.reward=1 layout.rollout=2 "
                       "layout.learners=2 trainer.save_every=2");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto m = Metrics(run);
  ASSERT_EQ(m.size(), 3u);
  for (const char* key :
       {"actor/pg_loss", "actor/kl_loss", "actor/ppo_kl", "actor/pg_clipfrac", "actor/entropy", "actor/grad_norm",
        "actor/lr", "critic/score/mean", "reward/accuracy/mean", "reward/format/mean", "response_length/mean",
        "frac_reward_zero_std", "timing_s/retrieval", "timing_s/gen", "timing_s/reward", "timing_s/update_actor",
        "timing_s/sync_weights", "timing_s/step", "perf/throughput"})
    EXPECT_TRUE(m[0].contains(key)) << key;
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_EQ(m[i]["training/global_step"].get<int>(), static_cast<int>(i) + 1);
    EXPECT_EQ(m[i]["training/weight_version"].get<int>(), static_cast<int>(i) + 1);
    EXPECT_EQ(m[i]["training/sequences"].get<int>(), 16) << "4 prompts x G=4";
    EXPECT_DOUBLE_EQ(m[i]["rollout/staleness/mean"].get<double>(), 0.0) << "synchronous on-policy";
  }
  EXPECT_GT(m[0]["critic/score/mean"].get<double>(), 0.0) << "the warm start's answers overlap the gold ones";
  EXPECT_LT(m[0]["frac_reward_zero_std"].get<double>(), 1.0) << "some group's rewards differ";
  EXPECT_GT(m[0]["actor/grad_norm"].get<double>(), 0.0);
  // CPU threads by phase: the two rollout workers generate together, then the
  // one reward server scores alone, then the two learners update together.
  EXPECT_EQ(ThreadsOf(r.out, "rollout 1"), std::max(1, Cores() / 2)) << r.out;
  EXPECT_EQ(ThreadsOf(r.out, "learner 1"), std::max(1, Cores() / 2)) << r.out;
  EXPECT_EQ(ThreadsOf(r.out, "reward 0"), Cores()) << r.out;
  EXPECT_EQ(ThreadsOf(r.out, "retrieval 1"), 1) << r.out;
  // Checkpoints at step 2 and at the end; each a loadable Hugging Face policy.
  for (const char* step : {"step-00000002", "step-00000003"}) {
    const std::string ck = run + "/checkpoints/" + step;
    for (const char* f : {"policy/config.json", "policy/model.safetensors", "policy/tokenizer.json",
                          "learner/optimizer.pt", "rng/learner-0.pt", "rng/learner-1.pt", "trainer_state.json"})
      EXPECT_TRUE(fs::exists(ck + "/" + f)) << ck << "/" << f;
  }
  const auto gen = Shell(Prlm() + " generate --model " + run +
                         "/checkpoints/step-00000003/policy --prompt hello "
                         "--max-new-tokens 4");
  EXPECT_EQ(gen.code, 0) << gen.out;
  // Every rank logged, tagged with its rank and role.
  for (int rank = 0; rank < 8; ++rank) {
    const std::string log = util::ReadFile(run + "/logs/rank-" + std::to_string(rank) + ".log");
    EXPECT_NE(log.find("[rank " + std::to_string(rank) + " "), std::string::npos) << log;
  }
  EXPECT_NE(util::ReadFile(run + "/logs/rank-2.log").find("retrieval shard 1 of 2"), std::string::npos);
  for (int service : {1, 2, 3}) {
    const std::string log = util::ReadFile(run + "/logs/rank-" + std::to_string(service) + ".log");
    EXPECT_NE(log.find(" (TLS)"), std::string::npos) << log;
    EXPECT_NE(log.find(" tls_failed=0"), std::string::npos) << log;
    EXPECT_NE(log.find(" handshake_failed=0"), std::string::npos) << log;
  }
  EXPECT_NE(r.out.find("step 3/3 | reward"), std::string::npos) << "the console progress line";
  EXPECT_NE(util::ReadFile(run + "/logs/rank-0.log").find("[rank 0 coordinator] [step 3] [info] step 3/3"),
            std::string::npos)
      << "lines carry the step";
  for (const char* key : {"service/retrieval_retries", "service/reward_retries", "service/reward_queue_depth"})
    EXPECT_TRUE(m[0].contains(key)) << key;
  EXPECT_EQ(Json::parse(util::ReadFile(run + "/status.json"))["state"], "finished");
  // Least exposure (docs/security.md): the run is the user's alone, and no
  // file of it -- logs, metrics, TensorBoard, config, checkpoints -- holds a
  // profile's text or a question.
  EXPECT_EQ(fs::status(run).permissions() & fs::perms::all, fs::perms::owner_all);
  EXPECT_EQ(fs::status(run + "/metrics.jsonl").permissions() & fs::perms::all,
            fs::perms::owner_read | fs::perms::owner_write);
  const std::vector<std::string> personal = PersonalTexts(dir_->str() + "/data");
  ASSERT_GT(personal.size(), 100u);
  const FileScan scan = ScanFiles(run, personal);
  EXPECT_TRUE(scan.finds.empty()) << "personal text: " << scan.finds.front();
  EXPECT_GT(scan.files, 20u);
  // TensorBoard: the independent reader finds each step's figures.
  std::string events;
  for (const auto& e : fs::directory_iterator(run + "/tensorboard")) events = e.path().string();
  const auto tb = Shell(std::string("python3 ") + PRLM_SOURCE_DIR + "/tests/tools/read_tfevents.py " + events);
  ASSERT_EQ(tb.code, 0) << tb.out;
  std::vector<Json> ev;
  std::istringstream lines(tb.out);
  for (std::string line; std::getline(lines, line);) ev.push_back(Json::parse(line));
  ASSERT_EQ(ev.size(), 4u) << "the file-version event, then one per step";
  for (size_t i = 1; i < 4; ++i) {
    EXPECT_EQ(ev[i]["step"].get<size_t>(), i);
    EXPECT_FLOAT_EQ(ev[i]["scalars"]["critic/score/mean"].get<float>(), m[i - 1]["critic/score/mean"].get<float>());
  }
  // The Prometheus endpoint was announced in file_sd form.
  const auto targets = Json::parse(util::ReadFile(run + "/prometheus_targets.json"));
  EXPECT_NE(targets[0]["targets"][0].get<std::string>().find(':'), std::string::npos) << targets;
}

// prlm bench scale (docs/scale.md) at its smallest: the real job with model
// compute simulated, and what the bench reads back from it.
TEST_F(TrainJob, BenchScaleRunsTheJobWithModelComputeSimulated) {
  const std::string out = D("scale");
  const auto r = Shell("timeout 600 " + Prlm() + " bench scale --config " + dir_->str() +
                       "/base.yaml --ranks 6 --steps 1 --warmup 1 --prompts-per-worker 2 --completion-tokens 24 "
                       "--decode-tps 100000 --learn-tps 1000000 --reward-batch-s 0 --reward-sequence-s 0 --out " +
                       out + " 2>/dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto j = nlohmann::json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(j["ranks"], 6);
  EXPECT_EQ(j["layout"]["rollout"], 2);
  EXPECT_EQ(j["prompts_per_step"], 4) << "2 prompts per worker";
  EXPECT_EQ(j["rss_ranks_seen"], 6) << "every rank's memory was sampled";
  EXPECT_GT(j["coordinator_messages_per_step"].get<double>(), 0);
  EXPECT_GT(j["coordinator_bytes_per_step"].get<double>(), j["coordinator_messages_per_step"].get<double>());
  EXPECT_GT(j["ideal_s"].get<double>(), 0);
  const auto m = Metrics(out + "/ranks-6");
  ASSERT_EQ(m.size(), 3u) << "warm-up, measured, and the last step";
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_EQ(m[i]["response_length/mean"].get<double>(), 24.0) << "every simulated sample has the asked length";
    EXPECT_EQ(m[i]["training/weight_version"].get<int>(), static_cast<int>(i) + 1) << "simulated updates count";
    EXPECT_TRUE(m[i].contains("reward/simulated_model/mean"));
    EXPECT_GT(m[i]["critic/score/max"].get<double>(), m[i]["critic/score/min"].get<double>())
        << "odd seeds answer gold, even ones do not";
  }
}

// `prlm plan` against what the ranks measured (each logs its peak resident
// set as it ends): the rollout worker and the learner of a 2-step GRPO job,
// for three policy sizes, within 15%; and a host too small is refused,
// naming the rank and its parts.
TEST_F(TrainJob, PlanEstimatesEachRanksPeakMemoryWithin15Percent) {
  const auto peak_mib = [](const std::string& log) {
    std::smatch m;
    const std::string text = util::ReadFile(log);
    static const std::regex line("peak resident memory ([0-9]+) MiB");
    return std::regex_search(text, m, line) ? std::stod(m[1]) : -1.0;
  };
  const std::string tok = dir_->str() + "/tok/tokenizer.json";
  ASSERT_EQ(Shell(Prlm() + " init-model --tokenizer " + tok + " --out " + D("mid") +
                  " num_hidden_layers=4 hidden_size=256 intermediate_size=1024 num_attention_heads=4 "
                  "num_key_value_heads=2 && " +
                  Prlm() + " init-model --preset small --tokenizer " + tok + " --out " + D("small"))
                .code,
            0);
  for (const std::string& policy : {dir_->str() + "/policy", D("mid"), D("small")}) {
    const std::string run = D("plan-" + fs::path(policy).filename().string());
    const std::string args = " --config " + dir_->str() + "/base.yaml model.policy=" + policy +
                             " trainer.total_steps=2 trainer.output_dir=" + run;
    const auto plan = Shell(Prlm() + " plan --json" + args);
    ASSERT_EQ(plan.code, 0) << plan.out;
    const auto j = Json::parse(plan.out);
    const auto job = Shell(Mpirun(5) + args);
    ASSERT_EQ(job.code, 0) << job.out;
    for (const auto& role : j["roles"]) {
      const std::string name = role["role"];
      if (name != "rollout" && name != "learner") continue;
      const double estimate = role["host_bytes"].get<double>() / (1 << 20);
      const double measured = peak_mib(run + "/logs/rank-" + std::to_string(role["first_rank"].get<int>()) + ".log");
      ASSERT_GT(measured, 0) << name << " logged no peak";
      EXPECT_NEAR(estimate / measured, 1.0, 0.15)
          << policy << " " << name << ": plan " << estimate << " MiB, measured " << measured << " MiB\n"
          << plan.out;
    }
  }
  const auto refused = Shell(Prlm() + " plan --config " + dir_->str() + "/base.yaml model.policy=" + D("small") +
                             " --host-memory 600MiB");
  EXPECT_EQ(refused.code, 3) << refused.out;
  EXPECT_NE(refused.out.find("node 0 needs"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("each learner rank holds"), std::string::npos) << refused.out;
  EXPECT_NE(refused.out.find("optimizer"), std::string::npos) << refused.out;
}

TEST_F(TrainJob, ResumeContinuesExactly) {
  const std::string straight = D("straight"), split = D("split");
  const std::string common = "trainer.total_steps=4 trainer.save_every=2 grpo.mu=2 optim.schedule=cosine";
  ASSERT_EQ(Train(5, straight, common).code, 0);
  const auto first = Train(5, split, common + " trainer.stop_after_steps=2");
  ASSERT_EQ(first.code, 0) << first.out;
  ASSERT_EQ(Metrics(split).size(), 2u);
  const auto second = Train(5, split, common + " trainer.resume=auto");
  ASSERT_EQ(second.code, 0) << second.out;
  EXPECT_NE(second.out.find("resuming from"), std::string::npos);
  // The same weights, bit for bit, and the same metrics except wall-clock ones.
  testing::ExpectSamePolicy(straight, split, 4);
  testing::ExpectSameMetrics(straight, split, 4);
  EXPECT_GT(Metrics(straight)[3]["actor/grad_norm"].get<double>(), 0.0) << "the steps must update something";
}

TEST_F(TrainJob, LoraSavesMergedPolicyAndAdapterAndResumes) {
  const std::string run = D("lora");
  const auto r = Train(5, run,
                       "trainer.total_steps=2 lora.rank=4 lora.dropout=0 trainer.save_every=1 "
                       "trainer.stop_after_steps=1");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto again = Train(5, run, "trainer.total_steps=2 lora.rank=4 lora.dropout=0 trainer.resume=auto");
  ASSERT_EQ(again.code, 0) << again.out;
  const std::string ck = run + "/checkpoints/step-00000002/policy";
  for (const char* f :
       {"config.json", "model.safetensors", "adapter/adapter_config.json", "adapter/adapter_model.safetensors"})
    EXPECT_TRUE(fs::exists(ck + "/" + f)) << f;
  EXPECT_EQ(Metrics(run).size(), 2u);
}

// Two launches of one LoRA config with two learners make the same run: the
// replicas' adapters start from trainer.seed, not from torch's per-process
// random seed.
TEST_F(TrainJob, LoraRunsAreReproducibleAcrossLaunchesAndLearners) {
  const std::string overrides =
      "trainer.total_steps=2 lora.rank=4 layout.retrieval=1 layout.reward=1 "
      "layout.rollout=1 layout.learners=2";
  for (const char* name : {"lora-a", "lora-b"}) {
    const auto r = Train(6, D(name), overrides);
    ASSERT_EQ(r.code, 0) << r.out;
  }
  testing::ExpectSameMetrics(D("lora-a"), D("lora-b"), 2);
  const std::string adapter = "/checkpoints/step-00000002/policy/adapter/adapter_model.safetensors";
  EXPECT_EQ(util::ReadFile(D("lora-a") + adapter), util::ReadFile(D("lora-b") + adapter));
}

TEST_F(TrainJob, OneStepOffRecordsStalenessAndCanUseTheSamplersLogprobs) {
  const std::string run = D("offpolicy");
  const auto r = Train(5, run, "trainer.total_steps=3 grpo.max_staleness=1");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto m = Metrics(run);
  ASSERT_EQ(m.size(), 3u);
  EXPECT_DOUBLE_EQ(m[0]["rollout/staleness/mean"].get<double>(), 0.0);
  EXPECT_DOUBLE_EQ(m[1]["rollout/staleness/mean"].get<double>(), 1.0) << "generated while step 1 was learning";
  EXPECT_GT(m[1]["timing_s/old_log_prob"].get<double>(), 0.0) << "off-policy: old log-probs are recomputed";
  // One step off, the correction is on by default (decoupled PPO) and its
  // capped share reported: none at step 1 (drawn by the version that learns
  // from it: weights within rounding of 1), a few tokens past the cap of 5
  // once the samples trail the learner by a version.
  for (size_t i = 0; i < m.size(); ++i) ASSERT_TRUE(m[i].contains("rollout_corr/capped_fraction")) << "step " << i + 1;
  EXPECT_EQ(m[0]["rollout_corr/capped_fraction"].get<double>(), 0.0);
  EXPECT_GT(m[1]["rollout_corr/capped_fraction"].get<double>(), 0.0);
  EXPECT_LT(m[1]["rollout_corr/capped_fraction"].get<double>(), 0.1);
  // Rollout and learning overlap: the rollout worker (with its reward
  // server, in its turn) and the learner split the cores.
  for (const char* role : {"rollout 0", "learner 0", "reward 0"})
    EXPECT_EQ(ThreadsOf(r.out, role), std::max(1, Cores() / 2)) << role << "\n" << r.out;

  // grpo.old_logprobs=rollout: the old log-probs are the sampler's, those of
  // the version that drew the samples, and the learner skips its forward.
  // Recomputed, they are the learner's version before the update, so step
  // 2 (drawn by version 0, learnt by version 1) starts at ratio 1; from the
  // sampler, its ratios carry the version between (ppo_kl > 0).
  const std::string from_rollout = D("offpolicy-rollout");
  const auto r2 = Train(5, from_rollout, "trainer.total_steps=3 grpo.max_staleness=1 grpo.old_logprobs=rollout");
  ASSERT_EQ(r2.code, 0) << r2.out;
  const auto m2 = Metrics(from_rollout);
  ASSERT_EQ(m2.size(), 3u);
  for (size_t i = 0; i < m2.size(); ++i) {
    EXPECT_EQ(m2[i]["timing_s/old_log_prob"].get<double>(), 0.0) << "step " << i + 1;
    EXPECT_FALSE(m2[i].contains("rollout_corr/capped_fraction")) << "nothing to correct: off_policy auto is none";
  }
  // Steps 1 and 2 sample with the initial weights in both runs.
  for (size_t i = 0; i < 2; ++i)
    EXPECT_EQ(m2[i]["critic/score/mean"], m[i]["critic/score/mean"]) << "the same samples, step " << i + 1;
  // Step 1 is on-policy: the sampler's log-probs are the learner's.
  EXPECT_NEAR(m2[0]["actor/pg_loss"].get<double>(), m[0]["actor/pg_loss"].get<double>(), 1e-5);
  EXPECT_NEAR(m2[0]["actor/ppo_kl"].get<double>(), 0.0, 1e-5);
  EXPECT_NEAR(m[1]["actor/ppo_kl"].get<double>(), 0.0, 1e-6);
  EXPECT_GT(m2[1]["actor/ppo_kl"].get<double>(), 1e-4) << "step 2's samples trail the learner by a version";
}

// model.dtype bf16: the learner trains fp32 weights with bf16 matrix
// products and sends the rollout workers bf16 copies each step.
TEST_F(TrainJob, Bf16TrainsInMixedPrecisionAndSendsBf16Weights) {
  const std::string run = D("bf16");
  const auto r = Train(5, run, "trainer.total_steps=2 model.dtype=bf16");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string learner_log = util::ReadFile(run + "/logs/rank-4.log");
  EXPECT_NE(learner_log.find("model.dtype bf16: mixed precision"), std::string::npos) << learner_log;
  const auto m = Metrics(run);
  ASSERT_EQ(m.size(), 2u);
  for (const auto& step : m) {
    EXPECT_TRUE(std::isfinite(step["actor/pg_loss"].get<double>()));
    EXPECT_GT(step["actor/grad_norm"].get<double>(), 0.0);
    EXPECT_DOUBLE_EQ(step["rollout/staleness/mean"].get<double>(), 0.0) << "the rollout workers had the new weights";
  }
  // The checkpoint holds the fp32 master weights.
  const std::string weights = util::ReadFile(run + "/checkpoints/step-00000002/policy/model.safetensors");
  const std::string header = weights.substr(8, 4096);
  EXPECT_NE(header.find("\"dtype\":\"F32\""), std::string::npos) << header.substr(0, 300);
  EXPECT_EQ(header.find("\"dtype\":\"BF16\""), std::string::npos);
}

TEST_F(TrainJob, BadConfigIsRefusedWithTheKeyBeforeAnythingStarts) {
  const std::string run = D("bad");
  auto r = Train(5, run, "grpo.betta=0.1");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("grpo.betta"), std::string::npos) << r.out;
  r = Train(5, run, "grpo.beta=lots");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("grpo.beta"), std::string::npos) << r.out;
  r = Train(5, run, "net.tls_cert=" + D("cert.pem"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("net.tls_cert / net.tls_key"), std::string::npos) << r.out;
  r = Train(5, run, "layout.rollout=3 layout.learners=2 layout.retrieval=1 layout.reward=1");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("layout"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("the job has 5"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(run)) << "nothing may start on a bad config";
}

// sft on reasoning paths (make-reasoning, grpo.sft_reasoning): the job trains
// on them and says so; a file that misses training questions is refused
// naming how many, and so is the key with another objective.
TEST_F(TrainJob, SftTrainsOnReasoningPathsAndRefusesAFileMissingQuestions) {
  const std::string d = dir_->str(), paths = D("reasoning.jsonl"), run = D("sft-reasoning");
  auto r = Shell(Prlm() + " make-reasoning --data " + d + "/data --out " + paths);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("(0 repeat the expected output)"), std::string::npos) << r.out;
  // The teacher writer's mechanics on the tiny warm start (its reasoning is
  // no good; every question is either written, not asked or empty).
  r = Shell(Prlm() + " make-reasoning --writer teacher --teacher " + d + "/policy --data " + d +
            "/data --limit 4 --k 1 --max-new-tokens 24 --out " + D("teacher.jsonl"));
  ASSERT_EQ(r.code, 0) << r.out;
  // The count just before a phrase of the summary line.
  const auto count_before = [&](const std::string& phrase) -> long {
    const size_t at = r.out.find(phrase);
    if (at == std::string::npos || at < 2) return -1;
    size_t begin = at;
    while (begin > 0 && std::isdigit(static_cast<unsigned char>(r.out[begin - 1]))) --begin;
    return begin == at ? -1 : std::stol(r.out.substr(begin, at - begin));
  };
  const long written = count_before(" reasoning paths (teacher)"),
             not_asked = count_before(" questions could not be asked"), empty = count_before(" got no reasoning");
  ASSERT_TRUE(written >= 0 && not_asked >= 0 && empty >= 0) << r.out;
  EXPECT_EQ(written + not_asked + empty, 4) << r.out;
  // sft ignores grpo.max_staleness (a config shared with GRPO runs may set
  // it): nothing runs one step ahead, so the learner takes every core.
  r = Train(5, run, "grpo.objective=sft trainer.total_steps=2 grpo.max_staleness=1 grpo.sft_reasoning=" + paths);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(util::ReadFile(run + "/logs/rank-0.log").find("sft targets: reasoning paths from " + paths),
            std::string::npos);
  EXPECT_EQ(Metrics(run).size(), 2u);
  EXPECT_EQ(ThreadsOf(r.out, "learner 0"), Cores()) << r.out;
  const std::string first_line = util::ReadFile(paths).substr(0, util::ReadFile(paths).find('\n') + 1);
  testing::WriteBytes(D("one.jsonl"), first_line);
  r = Train(5, D("sft-missing"), "grpo.objective=sft trainer.total_steps=2 grpo.sft_reasoning=" + D("one.jsonl"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("has no reasoning for"), std::string::npos) << r.out;
  r = Train(5, D("grpo-reasoning"), "trainer.total_steps=1 grpo.sft_reasoning=" + paths);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("grpo.sft_reasoning"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("is for grpo.objective=sft"), std::string::npos) << r.out;
}

// REST-PG (grpo.objective=rest): 2 iterations of 5 E-step steps (40
// questions, 8 per step, 4 candidates each) and 2 M-step steps. One rollout
// worker or two keep the same sequences and end with the same weights (CPU
// threads pinned: GEMM sums depend on the thread count); a run stopped inside
// the first E-step (after step 3) and inside the first M-step (after step 6)
// ends bit-identical to one that ran through.
TEST_F(TrainJob, RestKeepsTheSameSetsWithOneOrTwoWorkersAndResumesInsideEitherStep) {
  const std::string one = D("rest-one"), two = D("rest-two"), split = D("rest-split");
  // A threshold below 0 keeps each question's best candidate whatever its
  // reward: the tiny warm start rarely earns any.
  const std::string common =
      "grpo.objective=rest rest.iterations=2 rest.update_steps=2 trainer.prompts_per_step=8 "
      "grpo.temperature=1.0 rest.keep_threshold=-1 rest.keep_truncated=true "
      "model.cpu_threads=1";
  auto r = Train(5, one, common);
  ASSERT_EQ(r.code, 0) << r.out;
  r = Train(6, two, common + " layout.retrieval=1 layout.reward=1 layout.rollout=2 layout.learners=1");
  ASSERT_EQ(r.code, 0) << r.out;
  ASSERT_EQ(Train(5, split, common + " trainer.stop_after_steps=3").code, 0);
  ASSERT_EQ(Train(5, split, common + " trainer.stop_after_steps=3 trainer.resume=auto").code, 0);
  r = Train(5, split, common + " trainer.resume=auto");
  ASSERT_EQ(r.code, 0) << r.out;
  // The layout of the steps, and each E-step's figures.
  const auto m = Metrics(one);
  ASSERT_EQ(m.size(), 14u);
  for (size_t i = 0; i < m.size(); ++i) {
    const bool update = i % 7 >= 5;
    EXPECT_EQ(m[i]["rest/iteration"].get<int>(), static_cast<int>(i / 7) + 1) << "step " << i + 1;
    EXPECT_EQ(m[i]["rest/m_step"].get<int>(), update ? 1 : 0) << "step " << i + 1;
    EXPECT_EQ(m[i].contains("actor/sft_loss"), update) << "step " << i + 1;
    if (!update) {
      EXPECT_EQ(m[i]["rest/kept"].get<int>(), 8) << "each question's best of 4";
    }
  }
  const auto lines = [](const std::string& run) {
    std::vector<Json> out;
    std::istringstream in(util::ReadFile(run + "/rest_iterations.jsonl"));
    for (std::string line; std::getline(in, line);) out.push_back(Json::parse(line));
    return out;
  };
  const auto it = lines(one);
  ASSERT_EQ(it.size(), 2u);
  for (const auto& line : it) {
    EXPECT_EQ(line["candidates"].get<int>(), 160);
    EXPECT_EQ(line["kept"].get<int>(), 40);
    EXPECT_GE(line["kept_reward_mean"].get<double>(), line["reward_mean"].get<double>()) << "the best are kept";
  }
  EXPECT_NE(util::ReadFile(one + "/logs/rank-4.log").find("fine-tuning restarts from model.policy"), std::string::npos);
  // The kept sets (prompt and completion tokens; the sampler's log-probs
  // differ in the last bits with the batch) and every iteration's weights.
  const auto kept_tokens = [](const std::string& run) {
    proto::KeptSet kept;
    EXPECT_TRUE(kept.ParseFromString(util::ReadFile(run + "/checkpoints/step-00000014/em_kept.binpb"))) << run;
    std::vector<std::string> out;
    for (auto s : kept.sequences()) {
      s.clear_rollout_logprobs();
      out.push_back(s.SerializeAsString());
    }
    return out;
  };
  EXPECT_EQ(kept_tokens(one).size(), 40u);
  EXPECT_EQ(kept_tokens(one), kept_tokens(two));
  EXPECT_EQ(kept_tokens(one), kept_tokens(split));
  for (const char* iteration : {"iteration-1", "iteration-2"}) {
    const std::string weights = std::string("/iterations/") + iteration + "/model.safetensors";
    EXPECT_EQ(util::ReadFile(one + weights), util::ReadFile(two + weights)) << iteration << ": 1 vs 2 rollout workers";
    EXPECT_EQ(util::ReadFile(one + weights), util::ReadFile(split + weights)) << iteration << ": resumed twice";
  }
  EXPECT_NE(util::ReadFile(one + "/iterations/iteration-1/model.safetensors"),
            util::ReadFile(dir_->str() + "/policy/model.safetensors"))
      << "the M-step trains";
  const auto s = lines(split);
  ASSERT_EQ(s.size(), 2u);
  for (size_t i = 0; i < 2; ++i)
    for (const char* key : {"candidates", "kept", "reward_mean", "kept_reward_mean"})
      EXPECT_EQ(s[i][key], it[i][key]) << key;
  testing::ExpectSameMetrics(one, split, m.size());
}

// LoRe end to end: make-synthetic --preferences, train-lore on the fixture
// BERT, adapt-user for one of the job's own users (the table on disk gains
// it), eval-lore's table, then GRPO steps with reward.personalization=lore:
// the LoRe component scores, and the metrics carry the share of known users.
TEST_F(TrainJob, LoreTrainsAdaptsAndScoresAGrpoJob) {
  const std::string d = dir_->str(), prefs = D("prefs"), lore = D("lore"), run = D("grpo-lore");
  const std::string bert = std::string(PRLM_SOURCE_DIR) + "/tests/fixtures/bert-tiny";
  auto r = Shell(Prlm() +
                 " make-synthetic --preferences --users 6 --unseen-users 2 --train-pairs 12 --test-pairs 6 "
                 "--fewshot-pairs 4 --out " +
                 prefs + " --task-out " + D("task") + " --profile-pairs 8");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("train 24, test 36 questions of 6 users (LongLaMP_topic_writing); 72 reward-model pairs"),
            std::string::npos)
      << r.out;
  // The task's answers judged under the users' true utilities: the gold
  // (what each user chose) against an empty answer, and a bad baseline.
  std::string golds, empties;
  for (const auto& q : Json::parse(util::ReadFile(D("task") + "/test_questions.json"))) {
    golds += Json{{"id", q["id"]},
                  {"user_id", q["user_id"]},
                  {"answer",
                   "Perhaps budget, furthermore, \xF0\x9F\x99\x82 "
                   "a long enough answer of many words"}}
                 .dump() +
             "\n";
    empties += Json{{"id", q["id"]}, {"user_id", q["user_id"]}, {"answer", ""}}.dump() + "\n";
  }
  testing::WriteBytes(D("golds.jsonl"), golds);
  testing::WriteBytes(D("empties.jsonl"), empties);
  r = Shell(Prlm() + " judge-utility --truth " + prefs + "/truth.json --baseline empty=" + D("empties.jsonl") +
            " --candidate rich=" + D("golds.jsonl"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("| rich vs empty | 36 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| 36 / 0 / 0 |"), std::string::npos) << "more of every criterion wins for every user\n"
                                                             << r.out;
  r = Shell(Prlm() + " judge-utility --truth " + prefs + "/truth.json --baseline " + D("empties.jsonl") +
            " --candidate rich=" + D("golds.jsonl"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("is not NAME=FILE"), std::string::npos) << r.out;
  r = Shell(Prlm() + " train-lore --embedder " + bert + " --pairs " + prefs +
            "/pairs.jsonl --basis 4 --iterations 50 "
            "--scale 1 --out " +
            lore);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("pairwise accuracy on 36 test pairs"), std::string::npos) << r.out;
  // One of the job's users, adapted from two pairs of their own.
  const std::string user =
      Json::parse(util::ReadFile(d + "/data/train_questions.json"))[0]["user_id"].get<std::string>();
  testing::WriteBytes(D("user.jsonl"), "{\"user_id\": \"" + user +
                                           "\", \"prompt\": \"q\", \"chosen\": \"a long "
                                           "careful answer\", \"rejected\": \"no\", \"split\": \"fewshot\"}\n"
                                           "{\"user_id\": \"" +
                                           user +
                                           "\", \"prompt\": \"r\", \"chosen\": \"yes, "
                                           "gladly\", \"rejected\": \"no\", \"split\": \"fewshot\"}\n");
  r = Shell(Prlm() + " adapt-user --lore " + lore + " --user " + user + " --pairs " + D("user.jsonl"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("added " + user + " from 2 pairs"), std::string::npos) << r.out;
  r = Shell(Prlm() + " adapt-user --lore " + lore + " --user nobody --pairs " + D("user.jsonl"));
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("user nobody has no fewshot or train pairs"), std::string::npos) << r.out;
  r = Shell(Prlm() + " eval-lore --embedder " + bert + " --pairs " + prefs + "/pairs.jsonl --truth " + prefs +
            "/truth.json --bases 1,2 --shots 1,4 --compare-basis 2 --iterations 30 --adapt-iterations 30 --scale 1");
  ASSERT_EQ(r.code, 0) << r.out;
  for (const char* row :
       {"| shared BT", "| per-user BT", "| LoRe B=2", "| Bayes", "unseen, k=4", "LoRe B=2 (2 after pruning) - shared"})
    EXPECT_NE(r.out.find(row), std::string::npos) << row << "\n" << r.out;
  // GRPO with LoRe as the personalization term.
  r = Train(5, run, "trainer.total_steps=2 reward.personalization=lore reward.lore=" + lore + " reward.w_pers=0.5");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto m = Metrics(run);
  ASSERT_EQ(m.size(), 2u);
  for (const char* key : {"reward/personalization/mean", "reward/lore_score/mean", "reward/lore_known_user/mean"})
    EXPECT_TRUE(m[0].contains(key)) << key;
  const double known =
      m[0]["reward/lore_known_user/mean"].get<double>() + m[1]["reward/lore_known_user/mean"].get<double>();
  EXPECT_GE(known, 0.0);
  EXPECT_LT(known, 2.0) << "most of the job's users are unknown to the table (population mean)";
  r = Train(5, D("grpo-lore-missing"), "trainer.total_steps=1 reward.personalization=lore reward.w_pers=0.5");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("reward.lore"), std::string::npos) << r.out;
}

// prlm eval on held-out users: the sweep's rows in order, figures in range,
// the reward the training scorer gives (accuracy = ROUGE-1 + 2 + L F of the
// extracted answer, format weighted 0.1), a zero-shot row appended, and a bad
// flag refused naming the flag and its config key.
TEST_F(TrainJob, EvalSweepsRetrieversAndKOnHeldOutUsers) {
  const std::string d = dir_->str(), out = D("eval.json");
  const std::string eval = Prlm() + " eval --model " + d + "/policy --data " + d + "/data --split test --limit 3 " +
                           "--max-new-tokens 48 --max-prompt-tokens 400 --out " + out;
  auto r = Shell(eval + " --retriever bm25,recency --k 1,2 --completions " + D("completions.jsonl"));
  ASSERT_EQ(r.code, 0) << r.out;
  r = Shell(eval + " --zero-shot --name blind --append --compare nobody");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("--compare nobody: no row in " + out + " has that name"), std::string::npos) << r.out;
  r = Shell(eval + " --zero-shot --name blind --append --compare above");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("| blind | none | - | 3 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("| blind (none) | policy (recency, k=2) | 3 |"), std::string::npos) << r.out;
  const Json rows = Json::parse(util::ReadFile(out));
  ASSERT_EQ(rows.size(), 5u);
  // The blind row against the row above it, paired over the same 3 questions.
  const Json& compared = rows[4]["compare"];
  EXPECT_EQ(compared["n"], 3);
  for (const char* key : {"rouge1", "rougeL", "rouge2", "format", "reward"}) {
    const Json& m = compared["metrics"][key];
    EXPECT_NEAR(m["difference"].get<double>(), rows[4][key].get<double>() - rows[3][key].get<double>(), 1e-9) << key;
    EXPECT_LE(m["low"].get<double>(), m["difference"].get<double>() + 1e-12) << key;
    EXPECT_GE(m["high"].get<double>(), m["difference"].get<double>() - 1e-12) << key;
  }
  EXPECT_FALSE(rows[3].contains("compare"));
  EXPECT_EQ(rows[4]["per_question"]["id"].size(), 3u);
  const std::vector<std::pair<std::string, int>> sweep = {{"bm25", 1}, {"bm25", 2}, {"recency", 1}, {"recency", 2}};
  for (size_t i = 0; i < rows.size(); ++i) {
    const auto& row = rows[i];
    if (i < sweep.size()) {
      EXPECT_EQ(row["retriever"], sweep[i].first);
      EXPECT_EQ(row["k"], sweep[i].second);
    } else {
      EXPECT_EQ(row["retriever"], "none");
      EXPECT_TRUE(row["k"].is_null());
    }
    EXPECT_EQ(row["n"], 3) << "--limit 3";
    for (const char* key : {"rouge1", "rouge2", "rougeL", "format"}) {
      EXPECT_GE(row[key].get<double>(), 0.0) << key;
      EXPECT_LE(row[key].get<double>(), 1.0) << key;
    }
    const double accuracy = row["rouge1"].get<double>() + row["rouge2"].get<double>() + row["rougeL"].get<double>();
    EXPECT_NEAR(row["reward"].get<double>(), accuracy + 0.1 * row["format"].get<double>(), 1e-6) << row.dump();
  }
  size_t lines = 0;
  std::ifstream completions(D("completions.jsonl"));
  for (std::string line; std::getline(completions, line); ++lines) {
    const Json j = Json::parse(line);
    EXPECT_TRUE(j.contains("answer"));
    EXPECT_TRUE(j.contains("user_id")) << "judge-utility keys answers by the asking user";
  }
  EXPECT_EQ(lines, 3u) << "the last (retriever, k) pair's completions";
  r = Shell(eval + " --w-acc lots");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("--w-acc (reward.w_acc) must be a number"), std::string::npos) << r.out;
  r = Shell(eval + " --retriever bm25 --k 1,two");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("--k expects comma-separated positive integers, got '1,two'"), std::string::npos) << r.out;
}

// A model's generation_config.json sampling, asked for: `eval --sampling
// model` samples with it (seeded: two runs agree), and `train
// grpo.sampling=model` refuses a model that asks for greedy decoding.
TEST_F(TrainJob, EvalAndTrainTakeTheModelsSamplingWhenAsked) {
  const std::string d = dir_->str(), model = D("sampled-policy");
  std::filesystem::copy(d + "/policy", model, std::filesystem::copy_options::recursive);
  prlm::testing::WriteBytes(model + "/generation_config.json",
                            R"({"do_sample": true, "temperature": 0.9, "top_k": 5})");
  const std::string eval = Prlm() + " eval --model " + model + " --data " + d + "/data --split test --limit 3 " +
                           "--max-new-tokens 24 --max-prompt-tokens 400 --retriever bm25 --k 1 --sampling model";
  auto first = Shell(eval + " --seed 3 --out " + D("sampled-1.json"));
  ASSERT_EQ(first.code, 0) << first.out;
  EXPECT_NE(first.out.find("eval: sampling from generation_config.json: temperature 0.900000, top_k 5"),
            std::string::npos)
      << first.out;
  auto again = Shell(eval + " --seed 3 --out " + D("sampled-2.json"));
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_EQ(Json::parse(util::ReadFile(D("sampled-1.json")))[0]["per_question"],
            Json::parse(util::ReadFile(D("sampled-2.json")))[0]["per_question"])
      << "same seed, same samples";
  auto bad = Shell(eval + " --sampling nucleus");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("--sampling must be greedy or model, got 'nucleus'"), std::string::npos) << bad.out;
  prlm::testing::WriteBytes(model + "/generation_config.json", R"({"do_sample": false})");
  bad = Shell(Mpirun(5) + " --config " + d + "/base.yaml model.policy=" + model +
              " trainer.output_dir=" + D("sampled-run") + " grpo.sampling=model trainer.total_steps=1");
  EXPECT_NE(bad.code, 0);
  EXPECT_NE(bad.out.find("grpo.sampling=model: " + model + "/generation_config.json says do_sample false"),
            std::string::npos)
      << bad.out;
}

// Every task prlm knows, on its synthetic data: eval reports the task's own
// metrics (accuracy and F1, MAE and RMSE, ROUGE, METEOR on LongLaMP), and a
// two-step GRPO job under mpirun trains on it with the task-aware reward.
TEST_F(TrainJob, EveryTaskEvaluatesAndTrainsUnderMpirun) {
  const std::string d = dir_->str();
  for (const char* task : {"LaMP_1", "LaMP_2", "LaMP_2N", "LaMP_3", "LaMP_4", "LaMP_5", "LaMP_6", "LaMP_7",
                           "LongLaMP_product_review", "LongLaMP_abstract_generation", "LongLaMP_topic_writing"}) {
    const std::string data = D(std::string("data-") + task), run = D(std::string("run-") + task);
    auto r =
        Shell(Prlm() + " make-synthetic --task " + task + " --users 10 --min-profile 4 --max-profile 6 --out " + data);
    ASSERT_EQ(r.code, 0) << r.out;
    r = Shell(Prlm() + " eval --model " + d + "/policy --data " + data + " --split test --limit 2 " +
              "--max-new-tokens 16 --max-prompt-tokens 1024 --out " + D("task-eval.json"));
    ASSERT_EQ(r.code, 0) << task << "\n" << r.out;
    const Json row = Json::parse(util::ReadFile(D("task-eval.json")))[0];
    EXPECT_EQ(row["task"], task);
    EXPECT_EQ(row["skipped"], 0) << task << ": every question fits the prompt budget";
    const std::string t = task;
    const std::vector<std::string> metrics =
        t == "LaMP_1" || t == "LaMP_2" || t == "LaMP_2N" ? std::vector<std::string>{"accuracy", "f1"}
        : t == "LaMP_3"                                  ? std::vector<std::string>{"mae", "rmse"}
        : t.rfind("LongLaMP", 0) == 0                    ? std::vector<std::string>{"rouge1", "rougeL", "meteor"}
                                                         : std::vector<std::string>{"rouge1", "rougeL"};
    for (const auto& m : metrics) EXPECT_TRUE(row[m].is_number()) << task << " " << m << ": " << row.dump();
    if (t == "LaMP_3") {
      EXPECT_LE(row["mae"].get<double>(), 4.0);
    }
    // The test tokenizer was trained on LaMP-4's words: other tasks' prompts take more tokens.
    r = Train(5, run,
              std::string("data.dir=") + data + " trainer.total_steps=2 grpo.max_prompt_tokens=1024 " +
                  "grpo.max_completion_tokens=16");
    ASSERT_EQ(r.code, 0) << task << "\n" << r.out;
    EXPECT_EQ(Metrics(run).size(), 2u) << task;
    EXPECT_EQ(Json::parse(util::ReadFile(run + "/status.json"))["state"], "finished") << task;
  }
}

// A LaMP directory laid out as the benchmark releases it: no user_id (so a
// question is its own user unless its profile is another's), item ids
// renumbered per question though a user's questions share one profile, and
// the test split's golds hidden (no test_outputs.json). check-data,
// build-index, eval (a predictions file for the hidden split) and a few
// training steps all work on it.
TEST_F(TrainJob, ReleaseLayoutLampDirectoryChecksIndexesEvaluatesAndTrains) {
  const std::string d = dir_->str(), release = D("release");
  fs::create_directories(release);
  size_t users = 0;
  std::vector<std::string> test_ids;
  for (const std::string split : {"train", "dev", "test"}) {
    Json questions = Json::parse(util::ReadFile(d + "/data/" + split + "_questions.json"));
    std::set<std::string> user_ids;
    for (auto& q : questions) {
      user_ids.insert(q["user_id"].get<std::string>());
      q.erase("user_id");
      int i = 0;
      for (auto& item : q["profile"]) item["id"] = q["id"].get<std::string>() + "-" + std::to_string(i++);
      if (split == "test") test_ids.push_back(q["id"].get<std::string>());
    }
    users += user_ids.size();
    util::WriteFileAtomic(release + "/" + split + "_questions.json", questions.dump());
    if (split != "test") fs::copy_file(d + "/data/" + split + "_outputs.json", release + "/" + split + "_outputs.json");
  }
  // 1. check-data: the test split takes its siblings' task; shared profiles are one user.
  auto r = Shell(Prlm() + " check-data --data " + release);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("test_questions.json (loaded"), std::string::npos) << r.out;
  size_t counted = 0;
  for (size_t at = r.out.find("\nusers "); at != std::string::npos; at = r.out.find("\nusers ", at + 1))
    counted += std::stoul(r.out.substr(r.out.find_first_not_of(' ', at + 6)));
  EXPECT_EQ(counted, users) << r.out;
  // 2. build-index: one profile per user.
  r = Shell(Prlm() + " build-index --data " + release + " --out " + D("release-index"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(std::to_string(users) + " users,"), std::string::npos) << r.out;
  // 3. eval on the hidden split: answers in LaMP's leaderboard format, nothing scored.
  r = Shell(Prlm() + " eval --model " + d + "/policy --data " + release + " --split test --limit 3 " +
            "--max-new-tokens 16 --max-prompt-tokens 400 --out " + D("release-eval.json"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("3 questions have no gold output"), std::string::npos) << r.out;
  const Json predictions = Json::parse(util::ReadFile(D("test_predictions.json")));
  EXPECT_EQ(predictions["task"], "LaMP_4");
  ASSERT_EQ(predictions["golds"].size(), 3u);
  for (size_t i = 0; i < 3; ++i) {
    EXPECT_EQ(predictions["golds"][i]["id"], test_ids[i]);
    EXPECT_TRUE(predictions["golds"][i]["output"].is_string());
  }
  const Json row = Json::parse(util::ReadFile(D("release-eval.json")))[0];
  EXPECT_EQ(row["n"], 0);
  EXPECT_EQ(row["predicted"], 3);
  EXPECT_TRUE(row["rouge1"].is_null());
  // 4. Training steps (the retrieval ranks index every split, the hidden one too).
  r = Train(5, D("release-run"), "data.dir=" + release + " trainer.total_steps=2");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_EQ(Metrics(D("release-run")).size(), 2u);
}

TEST_F(TrainJob, DamagedCheckpointIsRefusedNamingTheFile) {
  const std::string run = D("damaged");
  ASSERT_EQ(Train(5, run, "trainer.total_steps=2 trainer.stop_after_steps=1").code, 0);
  const std::string ck = run + "/checkpoints/step-00000001";
  ASSERT_TRUE(fs::exists(ck + "/manifest.json"));
  const std::string rng = util::ReadFile(ck + "/rng/learner-0.pt");
  fs::remove(ck + "/rng/learner-0.pt");
  auto r = Train(5, run, "trainer.total_steps=2 trainer.resume=" + ck);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("rng/learner-0.pt is missing"), std::string::npos) << r.out;
  testing::WriteBytes(ck + "/rng/learner-0.pt", rng);
  testing::WriteBytes(ck + "/learner/optimizer.pt", "not a torch archive");
  r = Train(5, run, "trainer.total_steps=2 trainer.resume=" + ck);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("learner/optimizer.pt has 19 bytes, manifest.json says"), std::string::npos) << r.out;
  // The only checkpoint is damaged: resume=auto refuses rather than start over.
  r = Train(5, run, "trainer.total_steps=2 trainer.resume=auto");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("every checkpoint under"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("optimizer.pt"), std::string::npos) << r.out;
}

TEST_F(TrainJob, CorruptNewestCheckpointResumesFromThePreviousOne) {
  const std::string run = D("corrupt");
  const std::string common = "trainer.total_steps=4 trainer.save_every=1 trainer.keep_last=2";
  ASSERT_EQ(Train(5, run, common + " trainer.stop_after_steps=3").code, 0);
  const std::string newest = run + "/checkpoints/step-00000003";
  ASSERT_TRUE(fs::exists(run + "/checkpoints/step-00000002/trainer_state.json"));
  // One flipped bit in the newest policy's weights, size unchanged (bit rot, a torn write).
  std::string weights = util::ReadFile(newest + "/policy/model.safetensors");
  weights[weights.size() / 2] ^= 0x10;
  testing::WriteBytes(newest + "/policy/model.safetensors", weights);
  const auto r = Train(5, run, common + " trainer.resume=auto");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("step-00000003 is damaged"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("model.safetensors: checksum mismatch"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("resuming from " + run + "/checkpoints/step-00000002 at step 2"), std::string::npos) << r.out;
  const auto m = Metrics(run);
  ASSERT_EQ(m.size(), 4u) << "steps 1-2 kept, 3-4 trained again";
  for (size_t i = 0; i < m.size(); ++i) EXPECT_EQ(m[i]["training/global_step"].get<size_t>(), i + 1);
}

// One step off (grpo.max_staleness = 1, the MPI tier): the step the signal
// kept from going out is owed with the weights before the last update;
// learner 0 keeps them in the checkpoint and the resumed run generates that
// step with them, so it equals the run no signal stopped, bit for bit.
TEST_F(TrainJob, SigusrOnAnyRankCheckpointsAndExitsZeroThenResumesExactly) {
  const std::string run = D("preempted"), common = "trainer.total_steps=200 grpo.max_staleness=1";
  const std::string rc = TrainInBackground("preempted", common);
  const long learner = WaitForStepThenPidOf(run, 4);  // rank 4: the learner, not the coordinator
  ASSERT_GT(learner, 0) << util::ReadFile(D("preempted.out"));
  ASSERT_EQ(kill(static_cast<pid_t>(learner), SIGUSR1), 0);
  ASSERT_TRUE(WaitForFile(rc, std::chrono::seconds(120))) << "the job did not stop";
  EXPECT_EQ(std::stoi(util::ReadFile(rc)), 0) << util::ReadFile(D("preempted.out"));
  EXPECT_NE(util::ReadFile(D("preempted.out")).find("SIGUSR1 received"), std::string::npos);
  const size_t steps = Metrics(run).size();
  EXPECT_LT(steps, 200u);
  const std::string ck =
      run + "/checkpoints/step-" + std::string(8 - std::to_string(steps).size(), '0') + std::to_string(steps);
  EXPECT_TRUE(fs::exists(ck + "/trainer_state.json")) << ck;
  EXPECT_TRUE(fs::exists(ck + "/rollout_weights")) << "the older version the owed step needs";
  // The requeued job resumes from it on its own (resume=auto).
  const auto again = Train(5, run, common + " trainer.resume=auto trainer.stop_after_steps=2");
  ASSERT_EQ(again.code, 0) << again.out;
  EXPECT_NE(testing::AllRankLogs(run, 5).find("from the checkpoint: a step still out"), std::string::npos)
      << "learner 0 sent it first";
  ASSERT_EQ(Metrics(run).size(), steps + 2);
  EXPECT_EQ(Metrics(run).back()["training/global_step"].get<size_t>(), steps + 2);
  const std::string straight = D("preempted-straight");
  const auto r = Train(5, straight, common + " trainer.stop_after_steps=" + std::to_string(steps + 2));
  ASSERT_EQ(r.code, 0) << r.out;
  testing::ExpectSameMetrics(straight, run, steps + 2);
  testing::ExpectSamePolicy(straight, run, static_cast<int64_t>(steps + 2));
  EXPECT_EQ(Metrics(run)[steps]["rollout/staleness/max"], 1) << "the owed step was one version old";
}

// The job secret (docs/security.md) is in no process's command line or
// environment and in no file of the run, nor is the TLS key; a tool given the
// secret file and the certificate reaches the running job's retrieval shard,
// one without either is refused; a secret file others may read is refused
// before the job starts.
TEST_F(TrainJob, TheJobSecretIsOnlyInMemoryAndOpensTheServicesToItsHolders) {
  const std::string run = D("secret-run"), secret_file = D("job.secret"), cert = D("site.pem"), key = D("site.key");
  ASSERT_EQ(Shell(Prlm() + " make-secret --out " + secret_file).code, 0);
  ASSERT_EQ(Shell(Prlm() + " make-cert --cert " + cert + " --key " + key).code, 0);
  const std::string secret = util::ReadFile(secret_file);
  // The key's base64 body (its PEM lines but the armour).
  std::string key_body = util::ReadFile(key);
  key_body = key_body.substr(key_body.find('\n') + 1, 40);
  auto hex = [](const std::string& bytes) {
    static const char* digits = "0123456789abcdef";
    std::string out;
    for (unsigned char c : bytes) (out += digits[c >> 4]) += digits[c & 15];
    return out;
  };
  const std::string rc = StartInBackground(
      Mpirun(5) + " --config " + dir_->str() + "/base.yaml model.policy=" + dir_->str() +
          "/policy trainer.output_dir=" + run + " trainer.total_steps=200 net.secret_file=" + secret_file +
          " net.tls_cert=" + cert + " net.tls_key=" + key,
      D("secret-run"));
  const long learner = WaitForStepThenPidOf(run, 4);
  ASSERT_GT(learner, 0) << util::ReadFile(D("secret-run.out"));
  for (int rank = 0; rank < 5; ++rank) {
    const long pid = testing::PidOfRank(run, rank);
    ASSERT_GT(pid, 0);
    for (const char* what : {"cmdline", "environ"}) {
      const std::string bytes = util::ReadFile("/proc/" + std::to_string(pid) + "/" + what);
      EXPECT_EQ(bytes.find(secret), std::string::npos) << "rank " << rank << " " << what;
      EXPECT_EQ(bytes.find(hex(secret)), std::string::npos) << "rank " << rank << " " << what;
      EXPECT_EQ(bytes.find(key_body), std::string::npos) << "rank " << rank << " " << what;
    }
  }
  // The retrieval shard (rank 1), from outside the job.
  const std::string log = util::ReadFile(run + "/logs/rank-1.log");
  const size_t on = log.find(" on "), pid_at = log.find(" (pid "), port_at = log.find("listening on port ");
  ASSERT_TRUE(on != std::string::npos && pid_at != std::string::npos && port_at != std::string::npos) << log;
  const std::string server =
      log.substr(on + 4, pid_at - on - 4) + ":" + std::to_string(std::stoi(log.substr(port_at + 18)));
  const std::string user = Json::parse(util::ReadFile(dir_->str() + "/data/train_questions.json"))[0]["user_id"];
  const std::string retrieve = Prlm() + " retrieve --server " + server + " --user " + user + " --query x --k 1 ";
  auto r = Shell(retrieve + "--secret-file " + secret_file + " --tls-ca " + cert);
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(user + "-p"), std::string::npos) << r.out;
  r = Shell(retrieve + "--insecure --tls-ca " + cert);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("may require the job secret"), std::string::npos) << r.out;
  r = Shell(retrieve + "--secret-file " + secret_file);  // TLS by default; the secret proves the server
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find(user + "-p"), std::string::npos) << r.out;
  r = Shell(retrieve + "--secret-file " + secret_file + " --no-tls");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("warning: --no-tls"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("may speak TLS (the default: drop --no-tls)"), std::string::npos) << r.out;
  // End the job (SIGTERM: checkpoint, exit 0), then read every file it wrote.
  ASSERT_EQ(kill(static_cast<pid_t>(learner), SIGTERM), 0);
  ASSERT_TRUE(WaitForFile(rc, std::chrono::seconds(120))) << "the job did not stop";
  EXPECT_EQ(std::stoi(util::ReadFile(rc)), 0) << util::ReadFile(D("secret-run.out"));
  const FileScan scan = ScanFiles(run, {secret, hex(secret), key_body});
  EXPECT_TRUE(scan.finds.empty()) << scan.finds.front();
  EXPECT_GT(scan.files, 10u) << "logs, metrics, checkpoint files were read";
  EXPECT_EQ(util::ReadFile(D("secret-run.out")).find(hex(secret)), std::string::npos);
  // A secret file that group or others may read is refused before anything starts.
  fs::permissions(secret_file, fs::perms::group_read, fs::perm_options::add);
  r = Train(5, D("secret-open"), "trainer.total_steps=1 net.secret_file=" + secret_file);
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("chmod 600"), std::string::npos) << r.out;
}

// Someone who captures the traffic between the ranks of a job started with
// the defaults reads no profile and no question: the services speak TLS
// unless told not to. Told not to (net.tls=false), the same capture does
// read them (so the check can fail), and the job warns once that it is so.
TEST_F(TrainJob, AJobWithDefaultsShowsNoPersonalTextOnTheWire) {
  const std::vector<std::string> personal = PersonalTexts(dir_->str() + "/data");
  for (const bool tls : {true, false}) {
    const std::string run = D(tls ? "wire-default" : "wire-plaintext");
    testing::LoopbackCapture capture;
    std::string why;
    if (!capture.Start(&why)) GTEST_SKIP() << why;
    const auto r = Train(5, run, std::string("trainer.total_steps=2") + (tls ? "" : " net.tls=false"));
    EXPECT_EQ(capture.Stop(), 0u) << "the capture missed packets";
    ASSERT_EQ(r.code, 0) << r.out;
    const std::set<uint16_t> ports = ServicePorts(run);
    ASSERT_EQ(ports.size(), 2u) << "the retrieval shard and the reward server";
    const std::string wire = capture.Payload(ports);
    EXPECT_GT(wire.size(), 10000u) << "the services' traffic was captured";
    std::vector<std::string> seen;
    for (const auto& text : personal)
      if (wire.find(text) != std::string::npos) seen.push_back(text);
    if (tls) {
      EXPECT_TRUE(seen.empty()) << seen.size() << " personal texts in the clear, e.g. " << seen.front();
      EXPECT_EQ(r.out.find("net.tls=false"), std::string::npos) << r.out;
    } else {
      EXPECT_GT(seen.size(), 4u) << "plaintext shows the retrieved profile items and the questions";
      size_t warnings = 0;
      for (size_t at = r.out.find("net.tls=false: the services speak plaintext"); at != std::string::npos;
           at = r.out.find("net.tls=false: the services speak plaintext", at + 1))
        ++warnings;
      EXPECT_EQ(warnings, 1u) << "one warning per job, from rank 0: " << r.out;
    }
  }
}

// Two reward servers, the rollout worker's own stalled (SIGSTOP) for good
// after the first step: its calls time out once, then go to the other
// server, and the job goes on; the move is logged.
TEST_F(TrainJob, AStalledRewardServerIsLeftForTheOther) {
  const std::string run = D("reward-failover");
  const std::string rc =
      TrainInBackground("reward-failover",
                        "trainer.total_steps=500 layout.retrieval=1 layout.reward=2 layout.rollout=1 layout.learners=1 "
                        "reward.timeout_ms=300 reward.attempts=4 reward.retry_backoff_s=0.1",
                        6);
  ASSERT_TRUE(testing::WaitForSteps(run, 1, std::chrono::seconds(180))) << util::ReadFile(D("reward-failover.out"));
  // Rank 2 is reward server 0, the one rollout worker 0 prefers.
  ASSERT_NE(util::ReadFile(run + "/logs/rank-2.log").find("reward server 0:"), std::string::npos);
  const long stalled = testing::PidOfRank(run, 2);
  ASSERT_GT(stalled, 0);
  ASSERT_EQ(kill(static_cast<pid_t>(stalled), SIGSTOP), 0);
  const size_t before = Metrics(run).size();
  const bool went_on = testing::WaitForSteps(run, before + 3, std::chrono::seconds(120));
  kill(static_cast<pid_t>(stalled), SIGCONT);
  kill(static_cast<pid_t>(testing::PidOfRank(run, 0)), SIGUSR1);  // end with a checkpoint
  ASSERT_TRUE(WaitForFile(rc, std::chrono::seconds(120)));
  EXPECT_TRUE(went_on) << "steps went on while reward server 0 was stalled";
  EXPECT_EQ(util::ReadFile(rc), "0\n") << util::ReadFile(D("reward-failover.out"));
  const std::string rollout_log = util::ReadFile(run + "/logs/rank-4.log");
  EXPECT_NE(rollout_log.find("calls go to reward server"), std::string::npos) << rollout_log;
  const std::string log = util::ReadFile(run + "/logs/rank-0.log");
  EXPECT_NE(log.find("reward server rank 2 (reward 0 on "), std::string::npos) << log;
  int64_t failovers = 0;
  for (const auto& m : Metrics(run)) failovers += m.value("service/reward_failovers", int64_t{0});
  EXPECT_EQ(failovers, 1);
}

// rollout.elastic (docs/elastic.md): a rollout worker killed mid-run costs
// its lease, not the job; so does one of two reward servers (its clients go
// on to the other), and one of a shard's two replicas (retrieval.replicas:
// its clients go on to the other). Open MPI must let the others run on
// (--enable-recovery, orte_abort_on_non_zero_status 0) and let them finalize
// without the dead rank (async_mpi_finalize: else MPI_Finalize's fence
// waits for it, seen here in 1 of 4 runs). Work items carry
// their prompts' seeds, so the lost worker's items re-run elsewhere give the
// same samples, and both reward servers score alike. The items split the
// step's prompts as the MPI path splits them over two workers, so every
// step's metrics equal a run without rollout.elastic and without a loss.
TEST_F(TrainJob, AnElasticJobGoesOnWithoutALostRolloutWorkerAndLearnsTheSame) {
  const std::string steps = "trainer.total_steps=60 model.cpu_threads=1";
  const std::string elastic = steps + " rollout.elastic=true rollout.lease_s=2";
  const auto clean = Train(6, D("elastic-clean"), steps);
  ASSERT_EQ(clean.code, 0) << clean.out;
  const std::string run = D("elastic-lost");
  const std::string rc = StartInBackground(
      "timeout 600 mpirun --allow-run-as-root --oversubscribe --enable-recovery --mca orte_abort_on_non_zero_status 0 "
      "--mca async_mpi_finalize 1 "
      "-np 8 " +
          Prlm() + " train --config " + dir_->str() + "/base.yaml model.policy=" + dir_->str() +
          "/policy trainer.output_dir=" + run +
          " layout.retrieval=2 retrieval.replicas=2 layout.reward=2 layout.rollout=2 "
          "layout.learners=1 " +
          elastic,
      run);
  // Rank 6 is rollout worker 1; rank 1 the shard's first replica and rank 3
  // reward server 0, the ones rollout worker 0 prefers (coordinator, 2
  // replicas, 2 reward servers, 2 workers, learner).
  const long worker = WaitForStepThenPidOf(run, 6), reward = testing::PidOfRank(run, 3),
             replica = testing::PidOfRank(run, 1);
  ASSERT_GT(worker, 0) << util::ReadFile(run + ".out");
  ASSERT_GT(reward, 0) << util::ReadFile(run + ".out");
  ASSERT_GT(replica, 0) << util::ReadFile(run + ".out");
  ASSERT_NE(util::ReadFile(run + "/logs/rank-1.log").find("retrieval shard 0 of 1 (replica 0 of 2)"),
            std::string::npos);
  ASSERT_EQ(kill(static_cast<pid_t>(worker), SIGKILL), 0);
  ASSERT_EQ(kill(static_cast<pid_t>(reward), SIGKILL), 0);
  ASSERT_EQ(kill(static_cast<pid_t>(replica), SIGKILL), 0);
  ASSERT_TRUE(WaitForFile(rc, std::chrono::seconds(300))) << "the job still runs 300 s after a worker died";
  const std::string out = util::ReadFile(run + ".out");
  EXPECT_EQ(util::ReadFile(rc), "0\n") << out;
  EXPECT_EQ(Json::parse(util::ReadFile(run + "/status.json"))["state"], "finished");
  const auto reference = Metrics(D("elastic-clean")), b = Metrics(run);
  ASSERT_EQ(reference.size(), 60u);
  // On-policy in fp32 the sampler's log-probs are the learner's to float
  // rounding (rollout_corr/*: the generation engine vs the learner's forward).
  for (const auto& m : reference) {
    EXPECT_LT(std::abs(m["rollout_corr/kl"].get<double>()), 1e-6) << m.dump();
    EXPECT_GT(m["rollout_corr/ess"].get<double>(), 1 - 1e-6) << m.dump();
    EXPECT_LT(m["rollout_corr/probs_diff_max"].get<double>(), 1e-5) << m.dump();
    EXPECT_EQ(m["rollout/staleness/max"], 0);
  }
  ASSERT_EQ(b.size(), 60u) << out;
  EXPECT_EQ(testing::ExpectSameLearningCountingLostWorkers(reference, b), 1);
  EXPECT_EQ(b.back()["rollout/workers"], 1);
  const std::string log = util::ReadFile(run + "/logs/rank-0.log");
  EXPECT_NE(log.find("rollout workers lost: rollout 1 on "), std::string::npos) << log;
  EXPECT_NE(log.find("reward server rank 3 (reward 0 on "), std::string::npos) << log;
  EXPECT_NE(log.find("retrieval replica rank 1 (retrieval 0 on "), std::string::npos) << log;
  int64_t failovers = 0;
  for (const auto& m : b) failovers += m.value("service/retrieval_failovers", int64_t{0});
  EXPECT_EQ(failovers, 1) << "rollout worker 0 moved to the other replica once";
}

// grpo.max_staleness = 2 on the elastic tier: steps go out up to two ahead
// of the update, each generated with the weights of the step it went out
// during, never across a checkpoint; the correction (decoupled, by default)
// reports its capped share; a resume at the checkpoint equals the straight run.
TEST_F(TrainJob, AnElasticJobRunsTwoStepsAheadWithinTheBoundAndResumesExactly) {
  const std::string common =
      "trainer.total_steps=8 trainer.save_every=4 rollout.elastic=true grpo.max_staleness=2 layout.retrieval=1 "
      "layout.reward=1 layout.rollout=2 layout.learners=1";
  const std::string straight = D("k2-straight"), split = D("k2-split");
  const auto r = Train(6, straight, common);
  ASSERT_EQ(r.code, 0) << r.out;
  const auto m = Metrics(straight);
  ASSERT_EQ(m.size(), 8u);
  // Steps 1-4: 0, 1, 2, 2 versions behind; step 4 saves, so steps 5 and 6
  // wait for it (step 5 is on-policy again); steps 7, 8: 1 and 2 behind.
  const std::vector<double> want = {0, 1, 2, 2, 0, 1, 2, 2};
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_EQ(m[i]["rollout/staleness/max"].get<double>(), want[i]) << "step " << i + 1;
    EXPECT_TRUE(m[i].contains("rollout_corr/capped_fraction")) << "step " << i + 1;
  }
  const auto first = Train(6, split, common + " trainer.stop_after_steps=4");
  ASSERT_EQ(first.code, 0) << first.out;
  const auto second = Train(6, split, common + " trainer.resume=auto");
  ASSERT_EQ(second.code, 0) << second.out;
  testing::ExpectSameMetrics(straight, split, 8);
  testing::ExpectSamePolicy(straight, split, 8);
}

// A preemption at k = 2 lands with a later step's work out: the checkpoint
// keeps that step, the version it went out with and (learner 0) the older
// weights it needs; the resumed run posts it again with them and equals the
// straight run bit for bit.
// (k = 2 chooses the elastic tier: the config leaves rollout.elastic unset.)
TEST_F(TrainJob, APreemptionWithAStepOutResumesExactlyAtKTwo) {
  const std::string common =
      "trainer.total_steps=16 trainer.save_every=100 grpo.max_staleness=2 layout.retrieval=1 "
      "layout.reward=1 layout.rollout=2 layout.learners=1";
  const std::string straight = D("k2p-straight"), run = D("k2p-split");
  const auto r = Train(6, straight, common);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("rollout gateway at"), std::string::npos) << r.out;
  const auto m = Metrics(straight);
  ASSERT_EQ(m.size(), 16u);
  const std::string rc = TrainInBackground("k2p-split", common, 6);
  ASSERT_TRUE(testing::WaitForSteps(run, 2, std::chrono::seconds(180))) << util::ReadFile(run + ".out");
  kill(static_cast<pid_t>(testing::PidOfRank(run, 0)), SIGUSR1);
  ASSERT_TRUE(WaitForFile(rc, std::chrono::seconds(120)));
  ASSERT_EQ(util::ReadFile(rc), "0\n") << util::ReadFile(run + ".out");
  const size_t stopped = Metrics(run).size();
  ASSERT_LT(stopped, 15u) << "the signal came too late to leave work out";
  const std::string saved = run + "/checkpoints/step-" + [&] {
    char b[16];
    std::snprintf(b, sizeof b, "%08zu", stopped);
    return std::string(b);
  }();
  const std::string state = util::ReadFile(saved + "/trainer_state.json");
  EXPECT_NE(state.find("\"out_steps\""), std::string::npos) << state;
  EXPECT_TRUE(std::filesystem::exists(saved + "/rollout_weights")) << "the older version the step out needs";
  const auto second = Train(6, run, common + " trainer.resume=auto");
  ASSERT_EQ(second.code, 0) << second.out;
  EXPECT_NE(testing::AllRankLogs(run, 6).find("from the checkpoint: a step still out"), std::string::npos)
      << "learner 0 published it again";
  testing::ExpectSameMetrics(straight, run, 16);
  testing::ExpectSamePolicy(straight, run, 16);
}

// rollout.delta_sync: workers fetch each version as the words that changed
// since the one they hold; the weights they generate with are the same bit
// for bit, so the run learns exactly what full sync learns, for fewer bytes.
TEST_F(TrainJob, DeltaSyncLearnsExactlyWhatFullSyncLearns) {
  const std::string common =
      "trainer.total_steps=4 rollout.elastic=true grpo.max_staleness=1 layout.retrieval=1 layout.reward=1 "
      "layout.rollout=2 layout.learners=1";
  const std::string full = D("sync-full"), delta = D("sync-delta");
  const auto a = Train(6, full, common);
  ASSERT_EQ(a.code, 0) << a.out;
  const auto b = Train(6, delta, common + " rollout.delta_sync=true");
  ASSERT_EQ(b.code, 0) << b.out;
  testing::ExpectSameMetrics(full, delta, 4);
  testing::ExpectSamePolicy(full, delta, 4);
  EXPECT_NE(testing::AllRankLogs(delta, 6).find("(delta sync against v"), std::string::npos)
      << "workers fetched deltas";
}

// grpo.partial_rollouts=continue at k = 2: a version published while a step
// generates reaches the workers' items between decode steps (many one-prompt
// items, so the learner's updates fall inside them). Whether a swap lands
// mid-item depends on timing; what must hold every time: a sample is as
// stale as its oldest token, within k, nothing is dropped, and the job ends
// with every step learnt. With the sampler's log-probs as the old policy's
// no correction applies at k = 2, and rank 0 warns so at start.
TEST_F(TrainJob, PartialRolloutsKeepEverySampleWithinTheBound) {
  const std::string run = D("partial");
  const auto r = Train(6, run,
                       "trainer.total_steps=6 rollout.elastic=true grpo.max_staleness=2 grpo.partial_rollouts=continue "
                       "rollout.item_prompts=1 grpo.max_completion_tokens=160 layout.retrieval=1 layout.reward=1 "
                       "layout.rollout=2 layout.learners=1 grpo.old_logprobs=rollout");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("grpo.max_staleness = 2 with grpo.old_logprobs=rollout: no off-policy correction"),
            std::string::npos)
      << r.out;
  const auto m = Metrics(run);
  ASSERT_EQ(m.size(), 6u);
  int64_t partial = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_LE(m[i]["rollout/staleness/max"].get<double>(), 2) << "step " << i + 1;
    EXPECT_EQ(m[i]["rollout/dropped_stale"], 0) << "step " << i + 1;
    partial += m[i]["rollout/partial_samples"].get<int64_t>();
  }
  std::printf("samples with tokens of two or more versions over the run: %lld\n", static_cast<long long>(partial));
}

// grpo.max_staleness = k under random worker delays: model compute
// simulated by sleeps (a fifth of the samples, drawn per sample, run 4x
// longer), so three workers finish their one-prompt items at scattered
// times while versions arrive mid-item (partial rollouts). Whatever the
// interleaving: every step's samples are within k versions of the update
// that learns them, none is dropped, and every step is learnt.
TEST_F(TrainJob, StalenessStaysWithinKUnderRandomWorkerDelays) {
  const std::string run = D("random-delays");
  const auto r = Train(7, run,
                       "trainer.total_steps=8 grpo.max_staleness=3 grpo.partial_rollouts=continue "
                       "rollout.item_prompts=1 layout.retrieval=1 layout.reward=1 layout.rollout=3 layout.learners=1 "
                       "simulate.enabled=true simulate.completion_tokens=16 simulate.long_tail_fraction=0.2 "
                       "simulate.long_tail_factor=4 simulate.decode_tokens_per_s=1000 simulate.decode_step_s=0.005 "
                       "simulate.learn_tokens_per_s=5000");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto m = Metrics(run);
  ASSERT_EQ(m.size(), 8u);
  double most = 0;
  for (size_t i = 0; i < m.size(); ++i) {
    EXPECT_LE(m[i]["rollout/staleness/max"].get<double>(), 3) << "step " << i + 1;
    EXPECT_EQ(m[i]["rollout/dropped_stale"], 0) << "step " << i + 1;
    most = std::max(most, m[i]["rollout/staleness/max"].get<double>());
  }
  EXPECT_GE(most, 2) << "the work ran ahead of the update";
  std::printf("the stalest sample: %.0f versions behind\n", most);
}

// A worker started outside the job (`prlm rollout --join`) proves the
// secret, takes the job's config, fetches the weights by relay and works;
// killed, it is dropped and the job goes on with the MPI worker. The job
// runs two steps ahead with partial rollouts, so the worker dies with work
// of several steps out and versions arriving mid-item.
TEST_F(TrainJob, ARolloutWorkerJoinsARunningElasticJobAndMayLeaveIt) {
  const std::string run = D("elastic-join");
  ASSERT_EQ(Shell(Prlm() + " make-secret --out " + D("join-secret")).code, 0);
  const std::string rc = TrainInBackground("elastic-join",
                                           "trainer.total_steps=500 rollout.elastic=true rollout.item_prompts=1 "
                                           "grpo.max_staleness=2 grpo.partial_rollouts=continue "
                                           "rollout.lease_s=4 model.cpu_threads=1 net.secret_file=" +
                                               D("join-secret"));
  ASSERT_TRUE(testing::WaitForSteps(run, 1, std::chrono::seconds(180))) << util::ReadFile(run + ".out");
  const std::string gateway = util::ReadFile(run + "/gateway");
  ASSERT_FALSE(gateway.empty());
  // A wrong secret is refused, naming the gateway.
  ASSERT_EQ(Shell(Prlm() + " make-secret --out " + D("wrong-secret")).code, 0);
  const auto wrong = Shell("timeout 60 " + Prlm() + " rollout --join " + gateway.substr(0, gateway.size() - 1) +
                           " --secret-file " + D("wrong-secret"));
  EXPECT_NE(wrong.code, 0);
  EXPECT_NE(wrong.out.find(gateway.substr(0, gateway.size() - 1)), std::string::npos) << wrong.out;
  const std::string joiner_rc =
      StartInBackground("timeout 600 " + Prlm() + " rollout --join " + gateway.substr(0, gateway.size() - 1) +
                            " --secret-file " + D("join-secret") + " --name joiner-under-test",
                        D("joiner"));
  ASSERT_TRUE(testing::WaitForMetric(run, "rollout/workers", 2, std::chrono::seconds(180)))
      << "no step with both workers\n"
      << util::ReadFile(D("joiner.out"));
  // Counted live once it joined; it logs its first weights when it fetches them.
  const auto fetched = [&] { return util::ReadFile(D("joiner.out")).find("weights v") != std::string::npos; };
  for (int i = 0; i < 300 && !fetched(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(200));
  const std::string joiner = util::ReadFile(D("joiner.out"));
  EXPECT_NE(joiner.find("joined the job at"), std::string::npos) << joiner;
  EXPECT_TRUE(fetched()) << joiner;
  // The joiner leaves abruptly; the job goes on.
  Shell("pkill -9 -f '^[^ ]*/prlm rollout --join'");  // the worker, not the shell around it
  ASSERT_TRUE(WaitForFile(joiner_rc, std::chrono::seconds(30)));
  EXPECT_TRUE(testing::WaitForMetric(run, "rollout/lost_workers", 1, std::chrono::seconds(120)));
  const size_t now = Metrics(run).size();
  EXPECT_TRUE(testing::WaitForSteps(run, now + 2, std::chrono::seconds(120))) << "steps go on after the loss";
  for (const auto& m : Metrics(run)) {
    EXPECT_LE(m["rollout/staleness/max"].get<double>(), 2);
    EXPECT_EQ(m["rollout/dropped_stale"], 0);
  }
  kill(static_cast<pid_t>(testing::PidOfRank(run, 0)), SIGUSR1);  // end with a checkpoint
  ASSERT_TRUE(WaitForFile(rc, std::chrono::seconds(120)));
  EXPECT_EQ(util::ReadFile(rc), "0\n") << util::ReadFile(run + ".out");
  const std::string log = util::ReadFile(run + "/logs/rank-0.log");
  EXPECT_NE(log.find("rollout worker joiner-under-test joined"), std::string::npos) << log;
  EXPECT_NE(log.find("rollout workers lost: joiner-under-test"), std::string::npos) << log;
}

TEST_F(TrainJob, KilledRankEndsTheJobWithinAMinute) {
  const std::string run = D("killed");
  const std::string rc = TrainInBackground("killed", "trainer.total_steps=200");
  // After the first step, kill the rollout worker (rank 3) mid-run.
  const long pid = WaitForStepThenPidOf(run, 3);
  ASSERT_GT(pid, 0) << util::ReadFile(D("killed.out"));
  const auto killed_at = std::chrono::steady_clock::now();
  ASSERT_EQ(kill(static_cast<pid_t>(pid), SIGKILL), 0);
  ASSERT_TRUE(WaitForFile(rc, std::chrono::seconds(90))) << "the job still runs 90 s after a rank died";
  const double waited = std::chrono::duration<double>(std::chrono::steady_clock::now() - killed_at).count();
  EXPECT_LE(waited, 60.0);
  EXPECT_NE(std::stoi(util::ReadFile(rc)), 0);
  const std::string out = util::ReadFile(D("killed.out"));
  EXPECT_NE(out.find("rank 3"), std::string::npos) << out;
}

TEST_F(TrainJob, HungRankEndsTheJobAfterTheTimeoutNamingIt) {
  const std::string run = D("hung");
  const std::string rc = TrainInBackground("hung",
                                           "trainer.total_steps=200 trainer.rank_timeout_s=5 layout.retrieval=1 "
                                           "layout.reward=1 layout.rollout=1 layout.learners=2",
                                           6);
  // After the first step, freeze learner 1 (rank 5): alive, but silent.
  // Learner 0 then waits for it in the gradient all-reduce, silent too.
  const long pid = WaitForStepThenPidOf(run, 5);
  ASSERT_GT(pid, 0) << util::ReadFile(D("hung.out"));
  ASSERT_EQ(kill(static_cast<pid_t>(pid), SIGSTOP), 0);
  const bool ended = WaitForFile(rc, std::chrono::seconds(90));
  kill(static_cast<pid_t>(pid), SIGCONT);
  ASSERT_TRUE(ended) << "the job still runs 90 s after a rank hung";
  EXPECT_NE(std::stoi(util::ReadFile(rc)), 0);
  const std::string out = util::ReadFile(D("hung.out"));
  EXPECT_NE(out.find("rank 5 (learner 1 on "), std::string::npos) << out;
  EXPECT_NE(out.find("trainer.rank_timeout_s = 5"), std::string::npos) << out;
  // status.json says the run failed, and why (job scripts read it).
  const auto status = nlohmann::json::parse(util::ReadFile(run + "/status.json"));
  EXPECT_EQ(status["state"], "failed") << status;
  EXPECT_NE(status["message"].get<std::string>().find("rank 5 (learner 1 on "), std::string::npos) << status;
  EXPECT_GE(status["step"].get<int>(), 1) << "the last step done before the hang";
  // The checkpoints that exist are complete ones (a .tmp is never taken for one).
  if (fs::exists(run + "/checkpoints"))
    for (const auto& e : fs::directory_iterator(run + "/checkpoints"))
      if (e.path().extension() != ".tmp") {
        EXPECT_TRUE(fs::exists(e.path() / "trainer_state.json")) << e.path();
      }
}

}  // namespace
}  // namespace prlm
