#include "reward_server/scorer_setup.h"

#include "common/reward/lore.h"
#include "common/reward/preference_embedding.h"
#include "common/reward/reward_model.h"
#include "reward_server/lore_reward.h"
#include "common/reward/protocol.h"
#include "common/util/check.h"
#include "reward_server/personalization_reward.h"
#include "reward_server/simulated_model_reward.h"
#include "reward_server/text_rewards.h"

namespace prlm::reward_server {

std::unique_ptr<RewardScorer> MakeRewardScorer(const config::RewardConfig& c, const config::SimulateConfig& simulate) {
  c.Validate();
  ScorerOptions o;
  o.batching.max_batch_size = c.max_batch_size;
  o.batching.max_batch_tokens = c.max_batch_tokens;
  o.batching.max_queue_delay = std::chrono::microseconds(c.max_queue_delay_us);
  o.batching.executors = static_cast<int>(c.model_threads);
  o.batching.max_queued_sequences = c.max_queued;
  o.default_timeout_ms = static_cast<uint32_t>(c.timeout_ms);
  std::vector<WeightedComponent> components;
  if (c.w_acc != 0) components.push_back({std::make_shared<AccuracyReward>(c.stem), c.w_acc});
  if (c.w_sim != 0) components.push_back({std::make_shared<SimilarityReward>(c.stem), c.w_sim});
  if (c.w_fmt != 0) components.push_back({std::make_shared<FormatReward>(), c.w_fmt});
  if (simulate.enabled) {
    components.push_back(
        {std::make_shared<SimulatedModelReward>(simulate.reward_batch_s, simulate.reward_sequence_s), c.w_pers});
  } else if (c.w_pers != 0 && c.personalization == config::PersonalizationKind::kLore) {
    PRLM_REQUIRE(!c.lore.empty(),
                 "config: reward.personalization is lore but no LoRe model was given (reward.lore "
                 "DIR from train-lore, or reward.w_pers 0)");
    std::string embedder, pooling;
    reward::LoreModel lore = reward::LoreModel::Load(c.lore, &embedder, &pooling);
    o.reward_model = c.lore;
    components.push_back(
        {std::make_shared<LoreReward>(reward::RewardModel::Load(embedder, c.max_length), reward::PoolingByName(pooling),
                                      std::move(lore), reward::LoreOptions(), o.batching.max_batch_size,
                                      reward::kMaxAdaptPairs, c.lore),
         c.w_pers});
  } else if (c.w_pers != 0) {
    PRLM_REQUIRE(!c.model.empty(), "config: reward.w_pers is "
                                       << c.w_pers
                                       << " but no reward model was given (reward.model DIR, or reward.w_pers 0)");
    std::shared_ptr<reward::RewardModel> rm = reward::RewardModel::Load(c.model, c.max_length);
    PRLM_REQUIRE(!rm->new_head(), c.model << " has no reward head (classifier); train one with train-rm");
    o.reward_model = c.model;
    components.push_back({std::make_shared<PersonalizationReward>(rm, o.batching.max_batch_size), c.w_pers});
  }
  return std::make_unique<RewardScorer>(std::move(components), o);
}

}  // namespace prlm::reward_server
