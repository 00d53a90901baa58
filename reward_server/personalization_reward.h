// PrLM's contrastive personalization reward: sigmoid of the reward model's
// score of (query, extracted answer). Outputs: personalization (the sigmoid)
// and rm_score (the raw score). An item with no answer after "</think>" is
// not sent to the model and gets 0 for both: an empty answer earns nothing.
//
// Prepare tokenizes on the request thread; ScoreBatch runs the encoder over
// the whole batch in chunks of at most max_forward_batch sequences.
// Thread-safety: as RewardComponent (the model runs on one thread).
#pragma once

#include <memory>
#include <string>

#include "reward_server/reward_component.h"

namespace prlm::reward {
class RewardModel;  // common/reward/reward_model.h
}  // namespace prlm::reward

namespace prlm::reward_server {

class PersonalizationReward : public RewardComponent {
 public:
  // REQUIRES: model non-null.
  PersonalizationReward(std::shared_ptr<reward::RewardModel> model, int max_forward_batch);
  ~PersonalizationReward() override;
  const std::vector<std::string>& outputs() const override;
  std::unique_ptr<PreparedItem> Prepare(const RewardInput& input, double* out) const override;
  void ScoreBatch(const std::vector<const PreparedItem*>& items, const std::vector<double*>& out) override;

 private:
  std::shared_ptr<reward::RewardModel> model_;
  int max_forward_batch_;
};

}  // namespace prlm::reward_server
