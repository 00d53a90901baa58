// Planning one training step, as a pure function of the step's rollout
// results (no MPI, no clock): testable on its own.
//
//   1. the groups that could be asked (a group with an error or no samples
//      is skipped and counted; none at all is an error), less those with a
//      sample staler than max_staleness (dropped and counted: a worker that
//      fell behind);
//   2. their advantages, by the objective;
//   3. one training sequence per kept sample (prompt, completion, the
//      sampler's log-probs, advantage);
//   4. micro-batches by length, dealt to learners by token load
//      (batch_plan.h), as one LearnStep message per learner;
//   5. the rollout side of the step's metrics: rewards (objectives that
//      score samples), lengths, staleness, skips, service retries and the
//      slowest worker's phase times.
//
// Thread-safety: pure function.
#pragma once

#include <cstdint>
#include <vector>

#include "common/monitor/step_metrics.h"
#include "common/objective/objective.h"
#include "proto/train.pb.h"

namespace prlm::coordinator {

struct StepPlanOptions {
  int64_t step = 0;            // 0-based
  int64_t weight_version = 0;  // the learners' version now (staleness = this - a sample's oldest token's)
  int64_t micro_batch_size = 4;
  int learners = 1;
  bool sync_weights = true;    // learner 0 broadcasts the new weights after the update
  int64_t max_staleness = -1;  // grpo.max_staleness: a group with a sample staler is dropped (-1: no bound)
};

struct StepPlan {
  std::vector<proto::LearnStep> learn;  // [learner]; a learner may get no micro-batch
  monitor::StepMetrics metrics;         // the rollout side (see above)
  std::string first_skip;               // why the first skipped question was skipped
};

// Steps 1-5. Throws util::Error when no question of the step could be asked.
StepPlan PlanStep(const std::vector<proto::RolloutResult>& results, const objective::Objective& objective,
                  const StepPlanOptions& options);

// Steps 1-3 and 5 (an E-step of rest keeps the sequences for later):
// `learn` is left empty.
StepPlan PlanSequences(const std::vector<proto::RolloutResult>& results, const objective::Objective& objective,
                       const StepPlanOptions& options, std::vector<proto::TrainSequence>* sequences);

// Step 4 alone, for sequences kept earlier (rest's M-step): the learners'
// shares, and the plan's sequence, micro-batch, token and length figures.
StepPlan PlanKeptSequences(const std::vector<proto::TrainSequence>& sequences, const StepPlanOptions& options);

}  // namespace prlm::coordinator
