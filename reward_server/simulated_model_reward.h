// The reward model's place in a batch without the model, for `prlm bench
// scale` (simulate.enabled; docs/scale.md): a batch of n sequences sleeps
// batch_s + n * sequence_s on the scorer's model thread and scores 0, so the
// batching, queueing and protocol around it are what a real model would see.
//
// Thread-safety: as RewardComponent.
#pragma once

#include "reward_server/reward_component.h"

namespace prlm::reward_server {

class SimulatedModelReward : public RewardComponent {
 public:
  SimulatedModelReward(double batch_s, double sequence_s) : batch_s_(batch_s), sequence_s_(sequence_s) {}
  const std::vector<std::string>& outputs() const override;
  std::unique_ptr<PreparedItem> Prepare(const RewardInput& input, double* out) const override;
  void ScoreBatch(const std::vector<const PreparedItem*>& items, const std::vector<double*>& out) override;

 private:
  double batch_s_, sequence_s_;
};

}  // namespace prlm::reward_server
