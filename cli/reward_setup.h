// The reward scorer's options (weights, reward model, batching) and building
// a RewardScorer from them; shared by serve-reward and bench reward.
#pragma once

#include <memory>

#include "cli/args.h"
#include "reward_server/reward_scorer.h"

namespace prlm::cli {

void AddRewardOptions(Args& args);
// Validates the options, loads the reward model when its weight is not 0.
// max_batch_size > 0 replaces --max-batch-size (the benchmark's baseline).
std::unique_ptr<reward::RewardScorer> MakeRewardScorer(const Args& args, int64_t max_batch_size = 0);

}  // namespace prlm::cli
