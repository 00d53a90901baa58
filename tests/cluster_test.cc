// The cluster paths, against real services on this machine:
//  - a real single-node Slurm (launch/slurm-local: slurmctld + slurmd from
//    Debian's slurm-wlm, auth/none): launch/submit of the demo config runs
//    to completion; `scancel --signal=USR1` mid-run gives a checkpoint and
//    exit 0, and resubmitting resumes from the step it stopped at;
//  - launch/recipe: every recipe as a chain of jobs (afterok) to its table;
//    PrLM's and REST-PG's through a preempted training stage that resumes,
//    ROPG's through a cancelled stage that a second submission reruns;
//  - launch/run (mpirun) with a hostfile naming localhost twice; a SIGKILL
//    of rank 0 under launch/run leaves status.json "failed" (the launcher
//    marks it), and a recorded end is never overwritten;
//  - the coordinator's /metrics, checked by `promtool check metrics` and
//    scraped by a real Prometheus server on loopback during a run;
//  - a reward server that stalls (SIGSTOP) is retried with back-off and the
//    retries are counted; one that stays stalled ends the job, named.
// The fixture makes synthetic data, a tokenizer and a tiny random policy.
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <regex>
#include <thread>

#include "tests/job_test_util.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;
using testing::Metrics;
using testing::Shell;

const std::string kSource = PRLM_SOURCE_DIR;

uint16_t FreePort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t n = sizeof a;
  getsockname(fd, reinterpret_cast<sockaddr*>(&a), &n);
  close(fd);
  return ntohs(a.sin_port);
}

class Cluster : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new testing::TempDir();
    const std::string d = dir_->str(), prlm = PRLM_BINARY;
    const auto prep = testing::MakeTinyJobInputs(prlm, d, d + "/policy");
    ASSERT_EQ(prep.code, 0) << prep.out;
    const auto slurm = Shell(kSource + "/launch/slurm-local start " + d + "/slurm");
    ASSERT_EQ(slurm.code, 0) << slurm.out;
    setenv("SLURM_CONF", (d + "/slurm/slurm.conf").c_str(), 1);
  }
  static void TearDownTestSuite() {
    Shell(kSource + "/launch/slurm-local stop " + dir_->str() + "/slurm");
    delete dir_;
  }
  static std::string D(const std::string& name) { return *dir_ / name; }
  // The demo config on the fixture's policy and data (no reward model).
  static std::string DemoArgs(const std::string& run, const std::string& more) {
    return kSource + "/configs/demo.yaml model.policy=" + D("policy") + " data.dir=" + D("data") +
           " reward.w_pers=0 grpo.max_completion_tokens=16 trainer.prompts_per_step=4 trainer.output_dir=" + run + " " +
           more;
  }
  // launch/submit; returns the job id (its last line), or "" with the output in *out.
  static std::string Submit(const std::string& run, const std::string& more, std::string* out) {
    const auto r = Shell("cd " + dir_->str() + " && " + kSource + "/launch/submit " + DemoArgs(run, more));
    *out = r.out;
    if (r.code != 0) return "";
    std::string last = r.out.substr(0, r.out.find_last_not_of("\n") + 1);
    return last.substr(last.find_last_of('\n') + 1);
  }
  // Waits until the job leaves the queue; returns `scontrol show job` then.
  static std::string WaitForJob(const std::string& job, std::chrono::seconds limit) {
    const auto give_up = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < give_up) {
      const auto q = Shell("squeue -h -j " + job);
      if (q.out.find_first_not_of(" \n") == std::string::npos) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    return Shell("scontrol show job " + job).out;
  }

  // A training stage's job preempted (USR1: checkpoint, exit 0). It goes on
  // from its checkpoint: requeued (started again at once, not after Slurm's
  // requeue delay), or, when later stages wait for it, as a new job. Returns
  // the job that goes on.
  static std::string PreemptAndGoOn(const std::string& run_dir, const std::string& job) {
    EXPECT_EQ(Shell("scancel --signal=USR1 " + job).code, 0);
    const std::string log = run_dir + "/slurm/slurm-" + job + ".out";
    const std::regex continued("continuing as job (\\d+)");
    for (int i = 0; i < 240; ++i) {
      const std::string text = fs::exists(log) ? util::ReadFile(log) : "";
      std::smatch m;
      if (std::regex_search(text, m, continued)) return m[1];
      if (text.find("requeueing job") != std::string::npos &&
          Shell("squeue -h -j " + job + " -o %r").out.find("BeginTime") != std::string::npos) {
        Shell("scontrol update JobId=" + job + " StartTime=now");
        return job;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
    ADD_FAILURE() << "job " << job << " neither requeued nor continued";
    return job;
  }
  // The preempted job said so; the job that went on resumed from the checkpoint.
  static void ExpectResumed(const std::string& run_dir, const std::string& preempted, const std::string& resumed) {
    const std::string before = util::ReadFile(run_dir + "/slurm/slurm-" + preempted + ".out");
    EXPECT_NE(before.find("SIGUSR1 received"), std::string::npos) << before;
    const std::string after = util::ReadFile(run_dir + "/slurm/slurm-" + resumed + ".out");
    EXPECT_NE(after.find("resuming from " + run_dir + "/checkpoints/"), std::string::npos) << after;
  }

  static testing::TempDir* dir_;
};
testing::TempDir* Cluster::dir_ = nullptr;

TEST_F(Cluster, SubmitOfTheDemoConfigRunsToCompletion) {
  const std::string run = D("slurm-demo");
  std::string out;
  const std::string job = Submit(run, "trainer.total_steps=3", &out);
  ASSERT_FALSE(job.empty()) << out;
  EXPECT_NE(out.find("ranks=5"), std::string::npos) << out;
  const std::string state = WaitForJob(job, std::chrono::seconds(300));
  EXPECT_NE(state.find("JobState=COMPLETED"), std::string::npos) << state;
  EXPECT_NE(state.find("ExitCode=0:0"), std::string::npos) << state;
  ASSERT_EQ(Metrics(run).size(), 3u);
  EXPECT_EQ(Json::parse(util::ReadFile(run + "/status.json"))["state"], "finished");
  const std::string log = util::ReadFile(run + "/slurm/slurm-" + job + ".out");
  for (int rank = 1; rank < 5; ++rank)  // one job of 5 ranks, not 5 singletons
    EXPECT_NE(log.find("rank " + std::to_string(rank) + " of 5:"), std::string::npos) << log;
  EXPECT_NE(log.find("step 3/3"), std::string::npos) << log;
  EXPECT_TRUE(fs::exists(run + "/checkpoints/step-00000003/manifest.json"));
}

TEST_F(Cluster, DryRunPrintsTheScriptAndCreatesNothing) {
  const std::string run = D("slurm-dry");
  const auto r = Shell("cd " + dir_->str() + " && " + kSource + "/launch/submit " + DemoArgs(run, "--dry-run"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("#SBATCH --output=" + run + "/slurm/slurm-%j.out"), std::string::npos) << r.out;
  EXPECT_FALSE(fs::exists(run)) << "a dry run made " << run;
}

TEST_F(Cluster, ScancelUsr1CheckpointsExitsZeroAndResubmissionResumes) {
  const std::string run = D("slurm-preempt");
  std::string out;
  const std::string job = Submit(run, "trainer.total_steps=500", &out);
  ASSERT_FALSE(job.empty()) << out;
  ASSERT_TRUE(testing::WaitForSteps(run, 1, std::chrono::seconds(180)))
      << util::ReadFile(run + "/slurm/slurm-" + job + ".out");
  ASSERT_EQ(Shell("scancel --signal=USR1 " + job).code, 0);
  const std::string state = WaitForJob(job, std::chrono::seconds(180));
  EXPECT_NE(state.find("JobState=COMPLETED"), std::string::npos) << state;
  EXPECT_NE(state.find("ExitCode=0:0"), std::string::npos) << state;
  const auto status = Json::parse(util::ReadFile(run + "/status.json"));
  EXPECT_EQ(status["state"], "preempted");
  const size_t steps = status["step"].get<size_t>();
  ASSERT_EQ(Metrics(run).size(), steps);
  ASSERT_LT(steps, 500u);
  char name[32];
  std::snprintf(name, sizeof name, "step-%08zu", steps);
  EXPECT_TRUE(fs::exists(run + "/checkpoints/" + name + "/trainer_state.json")) << name;
  EXPECT_NE(util::ReadFile(run + "/slurm/slurm-" + job + ".out").find("SIGUSR1 received"), std::string::npos);
  // Resubmitting the same config goes on from that checkpoint.
  const std::string again = Submit(run, "trainer.total_steps=500 trainer.stop_after_steps=2", &out);
  ASSERT_FALSE(again.empty()) << out;
  WaitForJob(again, std::chrono::seconds(300));
  const std::string log = util::ReadFile(run + "/slurm/slurm-" + again + ".out");
  EXPECT_NE(log.find("resuming from " + run + "/checkpoints/" + name + " at step " + std::to_string(steps)),
            std::string::npos)
      << log;
  const auto m = Metrics(run);
  ASSERT_EQ(m.size(), steps + 2);
  EXPECT_EQ(m.back()["training/global_step"].get<size_t>(), steps + 2);
}

// launch/recipe prlm-lamp4 --tiny --submit: five stages as five jobs, each
// after the one before; the GRPO stage preempted (USR1) midway continues as a new job,
// resumes from its checkpoint, and the chain goes on to the eval table; a
// second submission finds every stage done and submits nothing.
TEST_F(Cluster, RecipeRunsAsAChainOfJobsThroughAPreemptedStage) {
  // A policy that writes answers (the reward-model pairs need them): a short
  // sft on the recipe's own prompts (dense top 5, 384 tokens).
  const std::string bert = D("recipe-bert"), sft = D("recipe-sft");
  auto r =
      Shell(std::string(PRLM_BINARY) + " init-model --arch bert --preset tiny --tokenizer " + D("tok") +
            "/tokenizer.json --out " + bert +
            " num_hidden_layers=1 hidden_size=64 intermediate_size=128 num_attention_heads=2 && "
            "mpirun --oversubscribe --allow-run-as-root -np 5 " +
            PRLM_BINARY + " train --config " + kSource + "/configs/demo.yaml model.policy=" + D("policy") +
            " data.dir=" + D("data") +
            " grpo.objective=sft optim.lr=3e-3 trainer.total_steps=300 grpo.max_completion_tokens=64"
            " retrieval.retriever=dense retrieval.encoder=" +
            bert + " retrieval.k=5 grpo.max_prompt_tokens=384 logging.console_every=1000 trainer.output_dir=" + sft);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string run = D("recipe"), recipe = kSource + "/launch/recipe prlm-lamp4 --data " + D("data") +
                                                " --policy " + sft + "/checkpoints/step-00000300/policy --encoder " +
                                                bert + " --reward-init " + bert + " --run " + run + " --tiny";
  // Bad input first: each named, nothing submitted.
  EXPECT_NE(Shell(kSource + "/launch/recipe prlm-lamp9 --data x --policy y").out.find("no recipe 'prlm-lamp9'"),
            std::string::npos);
  EXPECT_NE(Shell(recipe.substr(0, recipe.find(" --encoder"))).out.find("needs --encoder"), std::string::npos);
  EXPECT_NE(Shell(kSource + "/launch/recipe prlm-lamp5" + recipe.substr(recipe.find(" --data")))
                .out.find("holds task 'LaMP_4', this recipe is for LaMP_5"),
            std::string::npos);
  EXPECT_FALSE(fs::exists(run + "/stages"));

  r = Shell(recipe + " --submit --time=00:20:00 trainer.total_steps=12 trainer.save_every=1");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::smatch grpo_job = [&] {
    std::smatch m;
    std::regex_search(r.out, m, std::regex("stage grpo: job (\\d+) \\(after \\d+\\)"));
    return m;
  }();
  ASSERT_FALSE(grpo_job.empty()) << r.out;
  const std::string grpo = grpo_job[1], eval_job = r.out.substr(r.out.find("stage eval: job ") + 16);
  ASSERT_TRUE(testing::WaitForSteps(run + "/grpo", 2, std::chrono::seconds(300)))
      << Shell("cat " + run + "/slurm/*.out").out;
  const std::string grpo_resumed = PreemptAndGoOn(run + "/grpo", grpo);
  EXPECT_NE(grpo_resumed, grpo) << "the eval stage waits for it: it continues as a new job, not requeued";
  const std::string state = WaitForJob(eval_job.substr(0, eval_job.find_first_of(" \n")), std::chrono::seconds(600));
  EXPECT_NE(state.find("JobState=COMPLETED"), std::string::npos) << state;
  ExpectResumed(run + "/grpo", grpo, grpo_resumed);
  EXPECT_EQ(Metrics(run + "/grpo").size(), 12u);
  EXPECT_NE(util::ReadFile(run + "/eval.md").find("| PrLM | dense | 5 |"), std::string::npos);
  for (const char* stage : {"index", "rm_pairs", "reward_model", "grpo", "eval"})
    EXPECT_TRUE(fs::exists(run + "/stages/" + stage + ".done")) << stage;
  r = Shell(recipe + " --submit --time=00:20:00 trainer.total_steps=12 trainer.save_every=1");
  EXPECT_NE(r.out.find("every stage done before"), std::string::npos) << r.out;
}

// REST-PG's recipe on LongLaMP-format data: its five stages as chained jobs
// (the teacher's place taken by the synthetic data's oracle under --tiny),
// the sft stage preempted and resumed, the EM iteration keeping candidates,
// and the table.
TEST_F(Cluster, RestPgRecipeRunsItsChainThroughAPreemptedSft) {
  const std::string prlm = PRLM_BINARY, data = D("longlamp"), policy = D("longlamp-policy");
  auto r = Shell(prlm + " make-synthetic --task product_review --users 24 --seed 3 --out " + data + " --corpus " +
                 D("longlamp.txt") + " > /dev/null && " + prlm + " train-tokenizer --vocab-size 1024 --out " +
                 D("longlamp-tok") + " " + D("longlamp.txt") + " && " + prlm + " init-model --tokenizer " +
                 D("longlamp-tok") + "/tokenizer.json --out " + policy +
                 " num_hidden_layers=1 hidden_size=64 intermediate_size=128");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string run = D("rest-recipe");
  const std::string recipe =
      kSource + "/launch/recipe rest-pg-longlamp --data " + data + " --policy " + policy + " --run " + run + " --tiny";
  EXPECT_NE(Shell(kSource + "/launch/recipe rest-pg-longlamp --data " + D("data") + " --policy " + policy + " --tiny")
                .out.find("holds task 'LaMP_4'; this recipe is for a LongLaMP task"),
            std::string::npos);

  r = Shell(recipe + " --submit --time=00:20:00");
  ASSERT_EQ(r.code, 0) << r.out;
  std::smatch sft_job;
  ASSERT_TRUE(std::regex_search(r.out, sft_job, std::regex("stage sft: job (\\d+) \\(after \\d+\\)"))) << r.out;
  const std::string sft = sft_job[1], eval_job = r.out.substr(r.out.find("stage eval: job ") + 16);
  ASSERT_TRUE(testing::WaitForSteps(run + "/sft", 6, std::chrono::seconds(300)))
      << Shell("cat " + run + "/slurm/*.out").out;
  const std::string sft_resumed = PreemptAndGoOn(run + "/sft", sft);
  EXPECT_NE(sft_resumed, sft) << "the rest stage waits for it: it continues as a new job, not requeued";
  const std::string state = WaitForJob(eval_job.substr(0, eval_job.find_first_of(" \n")), std::chrono::seconds(600));
  EXPECT_NE(state.find("JobState=COMPLETED"), std::string::npos) << state << Shell("cat " + run + "/slurm/*.out").out;
  ExpectResumed(run + "/sft", sft, sft_resumed);
  EXPECT_EQ(Metrics(run + "/sft").size(), 150u) << "15 epochs of 10 steps, the preempted ones not repeated";
  const Json iteration = Json::parse(util::ReadFile(run + "/rest/rest_iterations.jsonl"));
  EXPECT_GT(iteration["kept"].get<int>(), 0) << iteration.dump();
  EXPECT_NE(util::ReadFile(run + "/eval.md").find("| REST-PG | bm25 | 5 |"), std::string::npos);
  for (const char* stage : {"index", "reasoning", "sft", "rest", "eval"})
    EXPECT_TRUE(fs::exists(run + "/stages/" + stage + ".done")) << stage;
  r = Shell(recipe + " --submit --time=00:20:00");
  EXPECT_NE(r.out.find("every stage done before"), std::string::npos) << r.out;
}

// ROPG/RSPG's and LoRe's recipes as chains of jobs. A stage cancelled before
// it ran takes the stages after it down (afterok); submitting again skips
// what finished and runs the rest.
TEST_F(Cluster, RopgAndLoreRecipesRunAsChainsAndACancelledStageIsRerun) {
  const std::string prlm = PRLM_BINARY, bert = D("chain-bert");
  auto r = Shell(prlm + " init-model --arch bert --preset tiny --tokenizer " + D("tok") + "/tokenizer.json --out " +
                 bert + " num_hidden_layers=1 hidden_size=64 intermediate_size=128 num_attention_heads=2 && " + prlm +
                 " make-synthetic --preferences --users 12 --unseen-users 4 --train-pairs 12 --test-pairs 4 "
                 "--profile-pairs 4 --seed 1 --out " +
                 D("prefs") + " > /dev/null");
  ASSERT_EQ(r.code, 0) << r.out;
  const auto job_of = [](const std::string& out, const std::string& stage) {
    std::smatch m;
    return std::regex_search(out, m, std::regex("stage " + stage + ": job (\\d+)")) ? m[1].str() : std::string();
  };
  const std::string run = D("ropg-recipe"), ropg = kSource + "/launch/recipe ropg-lamp --data " + D("data") +
                                                   " --policy " + D("policy") + " --encoder " + bert + " --run " + run +
                                                   " --tiny --submit --time=00:20:00";
  r = Shell(ropg);
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string feedback = job_of(r.out, "feedback"), kd = job_of(r.out, "ropg_kd"), last = job_of(r.out, "eval");
  ASSERT_FALSE(feedback.empty() || kd.empty() || last.empty()) << r.out;
  ASSERT_EQ(Shell("scancel " + kd).code, 0);
  EXPECT_NE(WaitForJob(feedback, std::chrono::seconds(300)).find("JobState=COMPLETED"), std::string::npos);
  EXPECT_EQ(WaitForJob(last, std::chrono::seconds(120)).find("JobState=COMPLETED"), std::string::npos)
      << "the stages after a cancelled one do not run";
  EXPECT_FALSE(fs::exists(run + "/eval.md"));
  r = Shell(ropg);
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("stage feedback: done before"), std::string::npos) << r.out;
  const std::string eval = job_of(r.out, "eval");
  ASSERT_FALSE(job_of(r.out, "ropg_kd").empty() || eval.empty()) << r.out;
  EXPECT_NE(WaitForJob(eval, std::chrono::seconds(600)).find("JobState=COMPLETED"), std::string::npos)
      << Shell("cat " + run + "/slurm/*.out").out;
  EXPECT_NE(util::ReadFile(run + "/eval.md").find("| rspg | rspg-post | 1 |"), std::string::npos);
  for (const char* stage : {"feedback", "ropg_kd", "ropg_rl", "selection", "rspg", "eval"})
    EXPECT_TRUE(fs::exists(run + "/stages/" + stage + ".done")) << stage;

  const std::string lore_run = D("lore-recipe");
  r = Shell(kSource + "/launch/recipe lore-prefs --data " + D("prefs") + " --encoder " + bert + " --run " + lore_run +
            " --tiny --submit --time=00:10:00");
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(WaitForJob(job_of(r.out, "eval"), std::chrono::seconds(300)).find("JobState=COMPLETED"), std::string::npos)
      << Shell("cat " + lore_run + "/slurm/*.out").out;
  const std::string table = util::ReadFile(lore_run + "/eval.md");
  EXPECT_NE(table.find("| LoRe B=4"), std::string::npos) << table;
  EXPECT_NE(table.find("Bayes"), std::string::npos) << table;
  EXPECT_TRUE(fs::exists(lore_run + "/lore/lore.safetensors"));
}

TEST_F(Cluster, MpirunWithAHostfileNamingLocalhostTwice) {
  testing::WriteBytes(D("hostfile"), "localhost\nlocalhost\n");
  const std::string run = D("hostfile-run");
  const auto r = Shell("timeout 600 " + kSource + "/launch/run " + DemoArgs(run, "trainer.total_steps=2") +
                       " --hostfile " + D("hostfile"));
  ASSERT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("on the hosts of " + D("hostfile")), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("rank 4 of 5:"), std::string::npos) << r.out;
  EXPECT_EQ(Metrics(run).size(), 2u);
}

// A SIGKILL of rank 0 leaves no rank to record how the job ended: launch/run
// sees mpirun's non-zero exit and marks status.json failed itself. The mark
// never overwrites an end a rank recorded (a finished run stays finished).
TEST_F(Cluster, LaunchRunMarksStatusFailedWhenRankZeroIsKilled) {
  const std::string run = D("rank0-killed");
  const std::string rc = testing::StartInBackground(
      "timeout 600 " + kSource + "/launch/run " + DemoArgs(run, "trainer.total_steps=500"), D("rank0-killed"));
  ASSERT_TRUE(testing::WaitForSteps(run, 1, std::chrono::seconds(180))) << util::ReadFile(D("rank0-killed.out"));
  ASSERT_EQ(Json::parse(util::ReadFile(run + "/status.json"))["state"], "running");
  const long coordinator = testing::PidOfRank(run, 0);
  ASSERT_GT(coordinator, 0);
  ASSERT_EQ(kill(static_cast<pid_t>(coordinator), SIGKILL), 0);
  ASSERT_TRUE(testing::WaitForFile(rc, std::chrono::seconds(120))) << "the job did not end";
  EXPECT_NE(util::ReadFile(rc), "0\n");
  const Json status = Json::parse(util::ReadFile(run + "/status.json"));
  EXPECT_EQ(status["state"], "failed") << status.dump();
  EXPECT_EQ(status["who"], "launcher") << status.dump();
  EXPECT_NE(status["message"].get<std::string>().find("mpirun exited"), std::string::npos) << status.dump();
  EXPECT_NE(status["message"].get<std::string>().find("rank 0 coordinator on "), std::string::npos) << status.dump();
  EXPECT_GE(status["step"].get<int>(), 1);
  // A recorded end is kept.
  const std::string mark = std::string(PRLM_BINARY) + " train --config " + kSource + "/configs/demo.yaml " +
                           "model.policy=x data.dir=y reward.w_pers=0 trainer.output_dir=" + D("finished-run") +
                           " --mark-failed why";
  fs::create_directories(D("finished-run"));
  testing::WriteBytes(D("finished-run/status.json"), "{\"state\":\"finished\",\"step\":3}\n");
  const auto kept = Shell(mark);
  EXPECT_EQ(kept.code, 0) << kept.out;
  EXPECT_NE(kept.out.find("left as finished"), std::string::npos) << kept.out;
  EXPECT_EQ(Json::parse(util::ReadFile(D("finished-run/status.json")))["state"], "finished");
}

// Prometheus' HTTP API: the value of `query` now, or NaN when it has none.
double PrometheusValue(uint16_t port, const std::string& query) {
  const auto r = Shell("curl -sS -G 'http://127.0.0.1:" + std::to_string(port) +
                       "/api/v1/query' --data-urlencode 'query=" + query + "'");
  const auto j = Json::parse(r.out, nullptr, false);
  if (j.is_discarded() || j.value("status", "") != "success" || j["data"]["result"].empty()) return std::nan("");
  return std::stod(j["data"]["result"][0]["value"][1].get<std::string>());
}

TEST_F(Cluster, PrometheusScrapesTheCoordinatorDuringARun) {
  const uint16_t metrics_port = FreePort(), prometheus_port = FreePort();
  std::ofstream(D("prometheus.yml")) << "global: {scrape_interval: 1s, scrape_timeout: 1s}\n"
                                     << "scrape_configs:\n  - job_name: prlm\n    static_configs:\n"
                                     << "      - targets: ['127.0.0.1:" << metrics_port << "']\n";
  ASSERT_EQ(Shell("promtool check config " + D("prometheus.yml")).code, 0);
  std::system(("prometheus --config.file=" + D("prometheus.yml") + " --storage.tsdb.path=" + D("tsdb") +
               " --web.listen-address=127.0.0.1:" + std::to_string(prometheus_port) + " > " + D("prometheus.log") +
               " 2>&1 & echo $! > " + D("prometheus.pid"))
                  .c_str());
  const std::string run = D("scraped");
  const std::string rc = testing::StartInBackground(
      kSource + "/launch/run " +
          DemoArgs(run, "trainer.total_steps=500 logging.prometheus_host=127.0.0.1 logging.prometheus_port=" +
                            std::to_string(metrics_port)),
      D("scraped"));
  ASSERT_TRUE(testing::WaitForSteps(run, 2, std::chrono::seconds(180))) << util::ReadFile(D("scraped.out"));
  // promtool accepts what the live endpoint serves.
  const std::string url = "http://127.0.0.1:" + std::to_string(metrics_port) + "/metrics";
  const auto check = Shell("curl -sS " + url + " > " + D("live.txt") + " && promtool check metrics < " + D("live.txt"));
  EXPECT_EQ(check.code, 0) << check.out << util::ReadFile(D("live.txt"));
  const std::string live = util::ReadFile(D("live.txt"));
  for (const char* name :
       {"prlm_step ", "prlm_phase_seconds{phase=\"gen\"}", "prlm_critic_score_mean ", "prlm_actor_kl_loss ",
        "prlm_perf_throughput ", "prlm_service_retries_total{service=\"reward\"}",
        "prlm_service_queue_depth{service=\"reward\"}", "prlm_tokens_total "})
    EXPECT_NE(live.find(name), std::string::npos) << name << "\n" << live;
  // The server scrapes it (within a bound; then the run is preempted).
  double step = std::nan("");
  for (int i = 0; i < 120 && !(step >= 1); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
    step = PrometheusValue(prometheus_port, "prlm_step");
  }
  EXPECT_GE(step, 1) << util::ReadFile(D("prometheus.log"));
  EXPECT_GE(PrometheusValue(prometheus_port, "prlm_steps_total"), 1);
  EXPECT_GE(PrometheusValue(prometheus_port, "prlm_phase_seconds{phase=\"step\"}"), 0);
  const long coordinator = testing::PidOfRank(run, 0);
  ASSERT_GT(coordinator, 0);
  kill(static_cast<pid_t>(coordinator), SIGUSR1);
  EXPECT_TRUE(testing::WaitForFile(rc, std::chrono::seconds(120)));
  EXPECT_EQ(util::ReadFile(rc), "0\n") << util::ReadFile(D("scraped.out"));
  Shell("kill $(cat " + D("prometheus.pid") + ")");
}

TEST_F(Cluster, StalledRewardServerIsRetriedThenNamedWhenItStaysDown) {
  // 1. Stalled for 4 s: the calls time out, are retried with back-off, and the run goes on.
  const std::string run = D("stalled");
  const std::string retry = "reward.timeout_ms=300 reward.attempts=8 reward.retry_backoff_s=0.2";
  std::string rc = testing::StartInBackground(
      kSource + "/launch/run " + DemoArgs(run, "trainer.total_steps=500 " + retry), D("stalled"));
  ASSERT_TRUE(testing::WaitForSteps(run, 1, std::chrono::seconds(180))) << util::ReadFile(D("stalled.out"));
  const long reward = testing::PidOfRank(run, 2);  // rank 2: the reward server
  ASSERT_GT(reward, 0);
  ASSERT_EQ(kill(static_cast<pid_t>(reward), SIGSTOP), 0);
  std::this_thread::sleep_for(std::chrono::seconds(4));
  ASSERT_EQ(kill(static_cast<pid_t>(reward), SIGCONT), 0);
  const size_t after = Metrics(run).size();
  ASSERT_TRUE(testing::WaitForSteps(run, after + 2, std::chrono::seconds(120))) << util::ReadFile(D("stalled.out"));
  kill(static_cast<pid_t>(testing::PidOfRank(run, 0)), SIGUSR1);
  ASSERT_TRUE(testing::WaitForFile(rc, std::chrono::seconds(120)));
  EXPECT_EQ(util::ReadFile(rc), "0\n") << util::ReadFile(D("stalled.out"));
  double retries = 0;
  for (const auto& m : Metrics(run)) retries += m["service/reward_retries"].get<double>();
  EXPECT_GT(retries, 0) << "the stalled calls were retried";
  // 2. Stalled for good, 2 attempts: the job ends, naming the reward server.
  const std::string dead = D("dead");
  rc = testing::StartInBackground(
      kSource + "/launch/run " +
          DemoArgs(dead, "trainer.total_steps=500 reward.timeout_ms=200 reward.attempts=2 reward.retry_backoff_s=0.1"),
      D("dead"));
  ASSERT_TRUE(testing::WaitForSteps(dead, 1, std::chrono::seconds(180))) << util::ReadFile(D("dead.out"));
  const long stuck = testing::PidOfRank(dead, 2);
  ASSERT_EQ(kill(static_cast<pid_t>(stuck), SIGSTOP), 0);
  const bool ended = testing::WaitForFile(rc, std::chrono::seconds(90));
  kill(static_cast<pid_t>(stuck), SIGCONT);
  ASSERT_TRUE(ended) << "the job did not end";
  EXPECT_NE(util::ReadFile(rc), "0\n");
  const std::string out = util::ReadFile(D("dead.out"));
  EXPECT_NE(out.find("reward server"), std::string::npos) << out;
  EXPECT_NE(out.find("gave up after 2 attempts"), std::string::npos) << out;
}

}  // namespace
}  // namespace prlm
