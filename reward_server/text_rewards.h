// The text-only parts of PrLM's reward, computed per item as requests arrive.
//
// AccuracyReward: how right the extracted answer is, by the item's task
// (data::AnswerScore): for generation tasks ROUGE-1 F + ROUGE-2 F + ROUGE-L F
// (rouge-score semantics, metrics.h) against the gold output, 0..3; for
// classification 1 for the gold label, else 0; for ratings 1 - |error| / 4.
// 0 when no answer follows "</think>". Outputs: accuracy, rouge1, rouge2,
// rougeL (the ROUGE figures of generation items only). An item without a gold
// output, or naming an unknown task, is refused.
// Thread-safety: stateless.
#pragma once

#include "reward_server/reward_component.h"

namespace prlm::reward_server {

class AccuracyReward : public RewardComponent {
 public:
  explicit AccuracyReward(bool stem = false) : stem_(stem) {}
  const std::vector<std::string>& outputs() const override;
  std::unique_ptr<PreparedItem> Prepare(const RewardInput& input, double* out) const override;

 private:
  bool stem_;
};

// REST-PG's reward: for generation tasks the mean of ROUGE-1 F and ROUGE-L F
// of the extracted answer against the gold output (0..1); for other tasks the
// task's answer score as AccuracyReward's. 0 when no answer follows
// "</think>". Output: similarity.
class SimilarityReward : public RewardComponent {
 public:
  explicit SimilarityReward(bool stem = false) : stem_(stem) {}
  const std::vector<std::string>& outputs() const override;
  std::unique_ptr<PreparedItem> Prepare(const RewardInput& input, double* out) const override;

 private:
  bool stem_;
};

// 1 when the completion has the "<think> ... </think> answer" form
// (text::HasReasoningFormat), else 0. Output: format.
class FormatReward : public RewardComponent {
 public:
  const std::vector<std::string>& outputs() const override;
  std::unique_ptr<PreparedItem> Prepare(const RewardInput& input, double* out) const override;
};

}  // namespace prlm::reward_server
