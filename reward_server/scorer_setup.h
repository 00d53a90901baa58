// Building a RewardScorer from the config's reward section: the weighted
// components (accuracy, format, personalization with the reward model) and
// batching. Shared by the training job's reward ranks, `prlm serve-reward`,
// `prlm eval` and the benchmark, so they score alike.
#pragma once

#include <memory>

#include "common/config/train_config.h"
#include "reward_server/reward_scorer.h"

namespace prlm::reward_server {

// Validates the section (errors name the key) and loads the reward model
// when its weight is not 0. A component whose weight is 0 is left out.
// With `simulate` enabled the reward model's place is taken by
// SimulatedModelReward (weight w_pers, even 0): nothing is loaded.
std::unique_ptr<RewardScorer> MakeRewardScorer(const config::RewardConfig& config,
                                               const config::SimulateConfig& simulate = {});

}  // namespace prlm::reward_server
