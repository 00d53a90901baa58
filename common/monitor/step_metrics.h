// One training step's figures as a typed value, and the one place that names
// them: ToJson maps every field to its metrics.jsonl key (verl's names where
// verl has one), and the key constants below are what readers of those lines
// (the coordinator's resume, RunMonitor, `prlm report`) use.
//
//   actor/*            the learners' update (the objective fills its own part)
//   critic/*, reward/* the scored samples (objectives that score samples)
//   response_length/*, prompt_length/mean, rollout/*, training/*, service/*
//   timing_s/*         each phase's wall time; perf/* tokens and tokens/s
//   coordinator/*      rank 0's own CPU seconds, messages and bytes
//
// A new figure is a field here and one line in step_metrics.cc.
// Thread-safety: plain values and pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace prlm::monitor {

// min / mean / max of a per-sample figure over a step.
struct Spread {
  double mean = 0, max = 0, min = 0;
};

// A running Spread.
class SpreadBuilder {
 public:
  void Add(double v);
  Spread Get() const;
  size_t count() const { return n_; }

 private:
  double sum_ = 0, min_ = 0, max_ = 0;
  size_t n_ = 0;
};

// The learners' update. Which loss fields are set is the objective's choice.
struct ActorMetrics {
  std::optional<double> sft_loss;                           // sft
  std::optional<double> pg_loss, kl_loss, kl_coef, ppo_kl,  // grpo
      pg_clipfrac, pg_clipfrac_lower;
  std::optional<double> is_capped_fraction;  // grpo.off_policy: rollout_corr/capped_fraction
  double entropy = 0, grad_norm = 0, lr = 0;
};

// The scored samples of a step (objectives whose rollout is scored).
struct RewardMetrics {
  Spread score, advantages;
  std::vector<std::pair<std::string, double>> component_means;  // by component name, sorted
  double frac_reward_zero_std = 0;
  // Objectives that train on some samples only (rest): those samples' scores
  // and their count.
  std::optional<Spread> kept_score;
  int64_t kept = 0, samples = 0;
};

// The sampler's log-probs against the learner's (common/objective/rollout_mismatch.h).
struct RolloutCorrMetrics {
  double kl = 0, k3_kl = 0, ess = 1, probs_diff_mean = 0, probs_diff_max = 0;
};

// REST-PG's EM iterations (coordinator/em_schedule.h).
enum class RestPhase { kCollect, kUpdate };
struct RestMetrics {
  int64_t iteration = 1;  // 1-based
  RestPhase phase = RestPhase::kCollect;
};

// The elastic rollout tier's step (coordinator/rollout_gateway.h).
struct ElasticMetrics {
  int64_t workers = 0;            // live at the step's end
  int64_t reissued = 0;           // work items handed out again (their worker was lost)
  int64_t lost_workers = 0;       // lost during the step (named in the log)
  int64_t duplicate_results = 0;  // results dropped (another copy came first)
};

// Rank 0's own cost of the step (prlm bench scale reads it): its CPU
// seconds (every thread) and the job messages and gateway frames it sent and
// received, with their bytes.
struct CoordinatorMetrics {
  double cpu_s = 0;
  int64_t messages = 0, bytes = 0;
};

// Wall seconds of each phase (the slowest rank's where several run it).
struct PhaseTimes {
  double retrieval = 0, gen = 0, reward = 0, old_log_prob = 0, ref = 0, update_actor = 0, sync_weights = 0, learn = 0,
         rollout = 0, step = 0;
};

struct StepMetrics {
  int64_t global_step = 0, epoch = 0;
  ActorMetrics actor;
  std::optional<RewardMetrics> rewards;
  std::optional<RestMetrics> rest;
  std::optional<ElasticMetrics> elastic;
  std::optional<RolloutCorrMetrics> rollout_corr;  // when the samples carry the sampler's log-probs
  Spread response_length;
  double response_clip_ratio = 0;  // share of samples that hit the completion limit
  double prompt_length_mean = 0;
  // Weight versions the samples trail the update by, a sample by its oldest
  // token (the bound grpo.max_staleness holds).
  double staleness_mean = 0, staleness_max = 0;
  int64_t partial_samples = 0;  // samples whose tokens came from more than one version
  int64_t dropped_stale = 0;    // samples (whole groups) dropped as older than grpo.max_staleness
  int64_t skipped_questions = 0, sequences = 0, micro_batches = 0;
  int64_t retrieval_retries = 0, reward_retries = 0, reward_queue_depth = 0;
  int64_t reward_failovers = 0;     // a worker's calls left a failing reward server for another
  int64_t retrieval_failovers = 0;  // ... a failing retrieval replica for another (retrieval.replicas)
  PhaseTimes timing;
  CoordinatorMetrics coordinator;
  int64_t total_num_tokens = 0;
  int64_t weight_version = 0;
  double throughput = 0;  // tokens per second of the step
};

// The metrics.jsonl object of a step, keys in a fixed order.
nlohmann::ordered_json ToJson(const StepMetrics& m);

// (phase name, seconds) of every timing_s/<phase> key, in ToJson's order.
std::vector<std::pair<std::string, double>> Phases(const PhaseTimes& t);

// Keys that readers of metrics.jsonl look up.
namespace keys {
constexpr const char* kGlobalStep = "training/global_step";
constexpr const char* kScoreMean = "critic/score/mean";
constexpr const char* kSftLoss = "actor/sft_loss";
constexpr const char* kPgLoss = "actor/pg_loss";
constexpr const char* kKlLoss = "actor/kl_loss";
constexpr const char* kPpoKl = "actor/ppo_kl";
constexpr const char* kEntropy = "actor/entropy";
constexpr const char* kGradNorm = "actor/grad_norm";
constexpr const char* kLr = "actor/lr";
constexpr const char* kResponseLengthMean = "response_length/mean";
constexpr const char* kResponseLengthMax = "response_length/max";
constexpr const char* kResponseLengthMin = "response_length/min";
constexpr const char* kResponseClipRatio = "response_length/clip_ratio";
constexpr const char* kFracRewardZeroStd = "frac_reward_zero_std";
constexpr const char* kStaleness = "rollout/staleness/mean";
constexpr const char* kStalenessMax = "rollout/staleness/max";
constexpr const char* kPartialSamples = "rollout/partial_samples";
constexpr const char* kDroppedStale = "rollout/dropped_stale";
constexpr const char* kRolloutCorrKl = "rollout_corr/kl";
constexpr const char* kRolloutCorrK3Kl = "rollout_corr/k3_kl";
constexpr const char* kRolloutCorrEss = "rollout_corr/ess";
constexpr const char* kRolloutCorrProbsDiffMean = "rollout_corr/probs_diff_mean";
constexpr const char* kRolloutCorrProbsDiffMax = "rollout_corr/probs_diff_max";
constexpr const char* kRolloutCorrCappedFraction = "rollout_corr/capped_fraction";
constexpr const char* kRetrievalRetries = "service/retrieval_retries";
constexpr const char* kRewardRetries = "service/reward_retries";
constexpr const char* kRewardFailovers = "service/reward_failovers";
constexpr const char* kRetrievalFailovers = "service/retrieval_failovers";
constexpr const char* kRewardQueueDepth = "service/reward_queue_depth";
constexpr const char* kServicePrefix = "service/";
constexpr const char* kStepSeconds = "timing_s/step";
constexpr const char* kCoordinatorCpu = "coordinator/cpu_seconds";
constexpr const char* kThroughput = "perf/throughput";
// "timing_s/<phase>"
std::string Phase(const std::string& phase);
// "reward/<component>/mean", and its inverse (nullopt for other keys).
std::string RewardComponentMean(const std::string& component);
std::optional<std::string> RewardComponentOf(const std::string& key);
}  // namespace keys

}  // namespace prlm::monitor
