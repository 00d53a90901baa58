#include "reward_server/simulated_model_reward.h"

#include <chrono>
#include <thread>

namespace prlm::reward_server {

const std::vector<std::string>& SimulatedModelReward::outputs() const {
  static const std::vector<std::string> names = {"simulated_model"};
  return names;
}

std::unique_ptr<PreparedItem> SimulatedModelReward::Prepare(const RewardInput& input, double*) const {
  auto item = std::make_unique<PreparedItem>();
  // What the reward model's tokenizer would roughly make of it (4 bytes a token).
  item->tokens = static_cast<int64_t>((input.item->query().size() + input.answer.answer.size()) / 4 + 1);
  return item;
}

void SimulatedModelReward::ScoreBatch(const std::vector<const PreparedItem*>& items, const std::vector<double*>&) {
  std::this_thread::sleep_for(
      std::chrono::duration<double>(batch_s_ + sequence_s_ * static_cast<double>(items.size())));
}

}  // namespace prlm::reward_server
