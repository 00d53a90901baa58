// GRPO (PrLM's objective): G sampled completions per prompt scored by the
// reward tier, group-relative advantages (advantages.h), the clipped policy
// loss with a KL term to the reference (grpo_loss.h), the off-policy
// correction against the sampler's log-probs (off_policy_correction.h).
// Options: the grpo.* keys. Thread-safety: immutable.
#pragma once

#include "common/config/train_config.h"
#include "common/objective/objective.h"
#include "common/objective/off_policy_correction.h"

namespace prlm::objective {

class GrpoObjective final : public Objective {
 public:
  explicit GrpoObjective(const config::GrpoConfig& config) : config_(config), off_policy_(OffPolicyOptionsOf(config)) {}

  RolloutProduct rollout_product() const override { return RolloutProduct::kScoredSamples; }
  bool allows_one_step_off() const override { return true; }
  Advantages ComputeAdvantages(const ScoredGroups& groups) const override;
  LearnerNeeds learner_needs() const override;
  at::Tensor Loss(const MicroBatchLogprobs& batch, proto::LearnerStats* sums) const override;
  void RecordStats(const proto::LearnerStats& sums, monitor::StepMetrics* metrics) const override;
  std::string ConsoleSummary(const monitor::StepMetrics& metrics) const override;

 private:
  config::GrpoConfig config_;
  OffPolicyOptions off_policy_;
};

}  // namespace prlm::objective
