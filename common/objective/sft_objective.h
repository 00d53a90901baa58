// Supervised fine-tuning (warm starts): the rollout worker builds each
// prompt's target (grpo.sft_template with the gold output, then EOS) instead
// of sampling; learners minimise the target tokens' mean cross-entropy per
// micro-batch. Nothing is scored, no reference, one epoch.
// Thread-safety: immutable.
#pragma once

#include "common/objective/objective.h"

namespace prlm::objective {

class SftObjective final : public Objective {
 public:
  RolloutProduct rollout_product() const override { return RolloutProduct::kGoldTarget; }
  bool allows_one_step_off() const override { return false; }
  Advantages ComputeAdvantages(const ScoredGroups& groups) const override;
  LearnerNeeds learner_needs() const override { return {}; }
  at::Tensor Loss(const MicroBatchLogprobs& batch, proto::LearnerStats* sums) const override;
  void RecordStats(const proto::LearnerStats& sums, monitor::StepMetrics* metrics) const override;
  std::string ConsoleSummary(const monitor::StepMetrics& metrics) const override;
};

// The target tokens' mean cross-entropy over the micro-batch, added to
// sums.sft_loss (sft and rest train with it).
at::Tensor CrossEntropyLoss(const MicroBatchLogprobs& batch, proto::LearnerStats* sums);
// actor/sft_loss from the summed statistics.
void RecordCrossEntropy(const proto::LearnerStats& sums, monitor::StepMetrics* metrics);

}  // namespace prlm::objective
