#include "reward_server/personalization_reward.h"

#include <cmath>

#include "common/reward/reward_model.h"
#include "common/util/check.h"

namespace prlm::reward_server {
namespace {

struct EncodedPair : PreparedItem {
  text::Encoding encoding;
};

}  // namespace

PersonalizationReward::PersonalizationReward(std::shared_ptr<reward::RewardModel> model, int max_forward_batch)
    : model_(std::move(model)), max_forward_batch_(max_forward_batch) {
  PRLM_CHECK(model_ && max_forward_batch_ >= 1);
}

PersonalizationReward::~PersonalizationReward() = default;

const std::vector<std::string>& PersonalizationReward::outputs() const {
  static const std::vector<std::string> names = {"personalization", "rm_score"};
  return names;
}

std::unique_ptr<PreparedItem> PersonalizationReward::Prepare(const RewardInput& input, double*) const {
  if (!input.answer.found) return nullptr;
  auto pair = std::make_unique<EncodedPair>();
  pair->encoding = model_->Encode(input.item->query(), input.answer.answer);
  pair->tokens = static_cast<int64_t>(pair->encoding.ids.size());
  return pair;
}

void PersonalizationReward::ScoreBatch(const std::vector<const PreparedItem*>& items, const std::vector<double*>& out) {
  std::vector<const text::Encoding*> encodings;
  encodings.reserve(items.size());
  for (const auto* item : items) encodings.push_back(&static_cast<const EncodedPair*>(item)->encoding);
  const std::vector<float> scores = model_->Score(encodings, max_forward_batch_);
  for (size_t i = 0; i < items.size(); ++i) {
    out[i][1] = scores[i];
    out[i][0] = 1.0 / (1.0 + std::exp(-static_cast<double>(scores[i])));
  }
}

}  // namespace prlm::reward_server
