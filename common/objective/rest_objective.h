// REST-PG's reinforced self-training (arXiv 2501.04167, after ReST-EM): the
// rollout workers sample grpo.group_size candidates per training question,
// the reward tier scores them, and the keep rule below chooses what the
// learners fine-tune on with the sft cross-entropy. The EM iterations (an
// E-step of collect steps, then an M-step of update steps) are laid out by
// coordinator/em_schedule.h; this class is the per-step part.
//
// The keep rule, per question: drop candidates that hit the length limit
// (unless keep_truncated), drop those whose reward is not above
// keep_threshold, then keep the best keep_top of the rest (0: all of them),
// ties to the earlier sample. Kept samples get advantage 1, the others 0.
//
// Thread-safety: immutable.
#pragma once

#include <cstdint>
#include <vector>

#include "common/config/train_config.h"
#include "common/objective/objective.h"

namespace prlm::objective {

struct KeepRule {
  double threshold = 0.0;  // keep reward > threshold
  int64_t top = 1;         // at most this many per question (0: no limit)
  bool keep_truncated = false;

  static KeepRule Of(const config::RestConfig& config);
};

// The indices of `group`'s kept samples, in sample order.
std::vector<size_t> KeepCandidates(const std::vector<ScoredSample>& group, const KeepRule& rule);

class RestObjective final : public Objective {
 public:
  explicit RestObjective(const config::RestConfig& config) : rule_(KeepRule::Of(config)) {}

  RolloutProduct rollout_product() const override { return RolloutProduct::kScoredSamples; }
  bool allows_one_step_off() const override { return false; }
  // The keep rule: a group with nothing kept is not kept.
  Advantages ComputeAdvantages(const ScoredGroups& groups) const override;
  LearnerNeeds learner_needs() const override { return {}; }
  at::Tensor Loss(const MicroBatchLogprobs& batch, proto::LearnerStats* sums) const override;
  void RecordStats(const proto::LearnerStats& sums, monitor::StepMetrics* metrics) const override;
  std::string ConsoleSummary(const monitor::StepMetrics& metrics) const override;

 private:
  KeepRule rule_;
};

}  // namespace prlm::objective
