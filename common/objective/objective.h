// A training objective: everything that differs between methods trained on
// the same tiers, behind one interface, chosen by grpo.objective.
//
//   rollout workers  rollout_product(): sample and score, or build targets
//   coordinator      ComputeAdvantages(): the per-sample weights of a step's
//                    groups (planning, coordinator/step_plan.h); RecordStats()
//                    and ConsoleSummary(): the metrics it adds
//   learners         learner_needs(): reference / old log-probs, epochs,
//                    temperature; Loss(): what one micro-batch minimises
//
// The coordinator's loop, the learner's update and the rollout worker's loop
// call these and nothing objective-specific, so a new objective is a new
// class here, its enum value (common/config/enums.h), its statistics
// (proto LearnerStats) and its metric fields (common/monitor/step_metrics.h).
//
// This header is torch-free: Loss() is declared with at::Tensor incomplete
// and only learner code (which includes torch) calls it.
//
// Thread-safety: immutable after construction; every method is const.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/config/enums.h"
#include "common/objective/advantages.h"

namespace at {
class Tensor;
}
namespace prlm::config {
struct TrainConfig;
}
namespace prlm::proto {
class LearnerStats;
}
namespace prlm::monitor {
struct StepMetrics;
}

namespace prlm::objective {

struct MicroBatchLogprobs;  // micro_batch_logprobs.h (torch)

// What a rollout worker makes of one prompt.
enum class RolloutProduct {
  kScoredSamples,  // G sampled completions, each scored by the reward tier
  kGoldTarget,     // the gold output in a template, tokenized; nothing sampled or scored
};

// One scored completion, as the coordinator plans a step with it.
struct ScoredSample {
  double reward = 0;
  bool stopped = true;  // ended on a stop token (not the length limit)
};
using ScoredGroups = std::vector<std::vector<ScoredSample>>;  // [group][sample]

// What a learner computes before and during the update.
struct LearnerNeeds {
  bool reference_logprobs = false;  // the frozen reference's (a KL term)
  bool old_logprobs = false;        // a forward before the update (off-policy updates)
  bool old_from_rollout = false;    // ... or, instead, the rollout worker's log-probs
  bool behaviour_logprobs = false;  // the rollout worker's log-probs beside them (grpo.off_policy)
  int64_t epochs = 1;               // update epochs over one step's batch
  double temperature = 1.0;         // log-probs at the sampler's temperature
};

class Objective {
 public:
  virtual ~Objective() = default;

  // Rollout workers.
  virtual RolloutProduct rollout_product() const = 0;
  // Whether the next step's rollout may run while this step updates.
  virtual bool allows_one_step_off() const = 0;

  // Coordinator: the advantages of the step's groups, and which samples are
  // trained on.
  virtual Advantages ComputeAdvantages(const ScoredGroups& groups) const = 0;

  // Learners.
  virtual LearnerNeeds learner_needs() const = 0;
  // The loss of one micro-batch (the learner runs its backward); adds the
  // objective's statistics of it to `sums`.
  virtual at::Tensor Loss(const MicroBatchLogprobs& batch, proto::LearnerStats* sums) const = 0;

  // Coordinator: the actor metrics of the learners' summed statistics
  // (`sums`, every learner added; divide by sums.micro_batches()).
  virtual void RecordStats(const proto::LearnerStats& sums, monitor::StepMetrics* metrics) const = 0;
  // The objective's part of the console line (" | reward 0.312 | ...").
  virtual std::string ConsoleSummary(const monitor::StepMetrics& metrics) const = 0;
};

// The objective grpo.objective names, with its options from the config.
std::unique_ptr<Objective> MakeObjective(const config::TrainConfig& config);

// Whether the run draws the next step's samples while this step learns:
// grpo.max_staleness = 1 and an objective that allows it (sft and rest
// ignore the key).
bool RunsOneStepOff(const config::TrainConfig& config);

// into += from, field by field (every numeric field of LearnerStats).
void AddLearnerStats(const proto::LearnerStats& from, proto::LearnerStats* into);

}  // namespace prlm::objective
