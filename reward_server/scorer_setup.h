// Building a RewardScorer from its settings: the weighted components
// (accuracy, format, personalization with the reward model) and batching.
// Shared by `prlm serve-reward`, the benchmark and the training job's reward
// ranks, so they score alike.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "reward_server/reward_scorer.h"

namespace prlm::reward {

struct ScorerSetup {
  double w_acc = 1.0, w_fmt = 0.1, w_pers = 0.1;
  std::string model;        // reward model directory (required when w_pers != 0)
  int64_t max_length = 512; // reward-model tokens per (query, answer)
  bool stem = false;        // Porter-stem before ROUGE
  ScorerOptions options;    // batching and default timeout
};

// Validates the settings (errors name the setting as `names` prefix + field,
// e.g. "--max-batch-size" or "reward.max_batch_size") and loads the reward
// model when its weight is not 0.
std::unique_ptr<RewardScorer> MakeRewardScorer(const ScorerSetup& setup, const std::string& option_prefix = "--");

}  // namespace prlm::reward
