// prlm train: one rank of a distributed GRPO (or sft) training job.
#include <spdlog/spdlog.h>

#include <cstdio>

#include "cli/commands.h"
#include "common/comm/mpi_job.h"
#include "common/comm/preemption.h"
#include "common/comm/rank_start.h"
#include "common/comm/run_status.h"
#include "common/comm/service_rank.h"
#include "common/comm/train_job.h"
#include "common/config/train_config.h"
#include "common/objective/objective.h"
#include "common/util/check.h"
#include "common/util/process_memory.h"
#include "coordinator/checkpoints.h"
#include "coordinator/coordinator.h"
#include "learner/learner_rank.h"
#include "options/args.h"
#include "options/policy_options.h"
#include "retrieval_shards/retrieval_rank.h"
#include "reward_server/reward_rank.h"
#include "rollout_workers/joined_worker.h"
#include "rollout_workers/rollout_rank.h"

namespace prlm::cli {
namespace {

// --print-config-value KEY and --print-layout: job scripts ask where the run
// goes and how many ranks it needs without parsing YAML themselves.
// --mark-failed MESSAGE: a launcher whose mpirun ended non-zero while
// status.json still says "running" (a lost host, mpirun's own teardown, a
// SIGKILL of rank 0: no rank could write it) makes the file true. No MPI.
int AnswerScriptQuery(const options::Args& args) {
  try {
    const config::TrainConfig config = config::TrainConfig::Load(args.Get("config"), args.positional());
    if (!args.Get("mark-failed").empty()) {
      const std::string run = config.trainer.output_dir;
      const std::string state = comm::ReadRunState(run);
      const bool unended = state.empty() || state == "running";
      if (unended) comm::MarkRunFailed(run, "launcher", args.Get("mark-failed"));
      std::printf("%s/status.json: %s\n", run.c_str(), unended ? "marked failed" : ("left as " + state).c_str());
      return 0;
    }
    if (!args.Get("print-config-value").empty()) {
      std::printf("%s\n", config.ValueOf(args.Get("print-config-value")).c_str());
      return 0;
    }
    // "retrieval=R reward=W rollout=O learners=L ranks=N".
    const int64_t asked = std::stoll(args.Get("ranks"));
    const config::Layout l = config.ResolveLayout(config.layout.unset() ? std::max<int64_t>(asked, 5) : asked);
    PRLM_REQUIRE(asked == 0 || l.total() == asked, "config: layout gives " << l.total() << " ranks, --ranks " << asked);
    std::printf("%s\n", l.ToString().c_str());
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "prlm train: %s\n", e.what());
    return 1;
  }
}

// One rank's role, from its start to its end.
int RunRole(const config::TrainConfig& config, const config::Layout& layout, const comm::RankStart& start) {
  switch (start.me.role) {
    case comm::Role::kRetrieval:
      return retrieval_shards::RunRetrievalRank(config, layout, start);
    case comm::Role::kReward:
      return reward_server::RunRewardRank(config, layout, start);
    default:
      break;
  }
  std::unique_ptr<net::RpcServer> elastic = comm::ElasticServer(config, start);
  const comm::TrainJob job = comm::JoinTrainJob(config, layout, start, elastic ? elastic->port() : 0);
  switch (start.me.role) {
    case comm::Role::kCoordinator:
      return coordinator::RunCoordinator(job, std::move(elastic));
    case comm::Role::kRollout:
      return rollout_workers::RunRolloutRank(job);
    case comm::Role::kLearner:
      return learner::RunLearnerRank(job, std::move(elastic));
    default:
      break;
  }
  return 1;
}

}  // namespace

int RunTrain(int argc, char** argv) {
  options::Args args("train",
                     "One rank of a training job; start every rank with mpirun -np N or srun. Rank 0 coordinates,\n"
                     "the layout gives the other ranks to retrieval shards, reward servers, rollout workers and\n"
                     "learners. KEY=VALUE arguments override the config (e.g. trainer.total_steps=100).\n"
                     "Keys (`prlm train --keys` lists them with defaults):");
  args.Option("config", "FILE", "", "YAML config (empty: defaults plus overrides)")
      .Flag("keys", "print every config key with its type, default and help, then exit")
      .Flag("print-layout", "print the ranks per role (for launch scripts) and exit; no MPI")
      .Option("ranks", "N", "0", "with --print-layout: the world size when the config has no layout")
      .Option("print-config-value", "KEY", "", "print one key's effective value (e.g. trainer.output_dir) and exit")
      .Option("mark-failed", "MESSAGE", "",
              "for launchers: mark the run's status.json failed (MESSAGE: why) unless a rank already ended it")
      .Positional("KEY=VALUE", "config overrides");
  if (!args.Parse(argc, argv)) return 0;
  if (args.GetFlag("keys")) {
    std::printf("%s", config::TrainConfig::Describe().c_str());
    return 0;
  }
  if (!args.Get("print-config-value").empty() || args.GetFlag("print-layout") || !args.Get("mark-failed").empty())
    return AnswerScriptQuery(args);
  comm::MpiJob mpi(&argc, &argv);
  comm::InstallPreemptionHandlers();  // SIGTERM / SIGUSR1: checkpoint and exit 0, never die mid-step
  // 1. The config, checked against the world size before anything starts.
  // Every rank reads it; a bad one fails alike everywhere, reported once.
  config::TrainConfig config;
  config::Layout layout;
  try {
    config = config::TrainConfig::Load(args.Get("config"), args.positional());
    // A job chained after another (launch/recipe under Slurm) names that
    // run's directory as its policy before the run exists.
    const std::string policy = coordinator::PolicyOfRun(config.model.policy);
    if (mpi.rank() == 0 && policy != config.model.policy)
      std::fprintf(stderr, "prlm train: model.policy %s is a training run: its newest checkpoint's policy, %s\n",
                   config.model.policy.c_str(), policy.c_str());
    config.model.policy = policy;
    const std::string sampling = generation::ResolvePolicySampling(&config);
    if (mpi.rank() == 0 && !sampling.empty()) std::fprintf(stderr, "prlm train: %s\n", sampling.c_str());
    config.Validate(mpi.size());
    layout = config.ResolveLayout(mpi.size());
  } catch (const util::Error& e) {
    if (mpi.rank() == 0) std::fprintf(stderr, "prlm train: %s\n", e.what());
    return 1;
  }
  // 2. Role, logs, this rank's share of the host (common/comm/rank_start.h).
  //    A fatal error on any rank marks the run failed for job scripts.
  const comm::RankStart start = comm::StartRank(mpi, config, layout, objective::RunsOneStepOff(config));
  comm::SetFatalHook([dir = config.trainer.output_dir](const std::string& who, const std::string& message) {
    comm::MarkRunFailed(dir, who, message);
  });
  // 3. The role; as it ends, its peak memory (what `prlm plan` estimates).
  try {
    const int code = RunRole(config, layout, start);
    spdlog::info("peak resident memory {} MiB", util::PeakResidentBytes() >> 20);
    return code;
  } catch (const std::exception& e) {
    spdlog::error("fatal: {}", e.what());
    comm::AbortJob(start.role_name + " on " + mpi.host(), e.what());
  }
  return 1;
}

int RunRollout(int argc, char** argv) {
  options::Args args("rollout",
                     "Join a running job (rollout.elastic=true; its gateway's address is in RUN/gateway) as one\n"
                     "more rollout worker, until the job ends (rollout_workers/joined_worker.h).");
  args.Option("join", "HOST:PORT", "", "the job's gateway", true)
      .Option("secret-file", "PATH", "", "the job's secret (its net.secret_file)", true)
      .Option("name", "NAME", "", "how the job names this worker (default host:pid)")
      .Option("bind-host", "ADDRESS", "", "where this worker serves weights to the next (default: its host's address)")
      .Flag("no-tls", "for a job run with net.tls=false")
      .Positional("KEY=VALUE", "this worker's own model.device, model.cpu_threads or logging.level");
  if (!args.Parse(argc, argv)) return 0;
  rollout_workers::JoinOptions o;
  o.gateway = args.Get("join");
  o.secret_file = args.Get("secret-file");
  o.name = args.Get("name");
  o.bind_host = args.Get("bind-host");
  o.tls = !args.GetFlag("no-tls");
  o.overrides = args.positional();
  return rollout_workers::RunJoinedWorker(o);
}

}  // namespace prlm::cli
