// Training LoRe (common/reward/lore.h): the shared basis V and every train
// user's mixture logits theta, by the Bradley-Terry NLL averaged over each
// user's pairs and then over users (+ alpha ||V - V_0||^2, V_0 the initial
// basis), minimised by alternating full-batch Adam steps on V and on theta;
// afterwards basis columns no user weighs above prune_below are dropped
// (theta keeps the remaining entries).
//
// Thread-safety: plain functions; torch's global seed is set by TrainLore.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/reward/lore.h"

namespace prlm::pipeline {

// The Bradley-Terry NLL of pairs: mean over each user's pairs, then over
// users. logits [N]; user [N] (int64) in 0..users-1.
torch::Tensor PerUserBtLoss(const torch::Tensor& logits, const torch::Tensor& user, int64_t users);

// REQUIRES (throws util::Error): pairs for every user in `users`, d >= 1,
// options.basis >= 1.
reward::LoreModel TrainLore(const reward::PairDiffs& pairs, const std::vector<std::string>& users,
                            const reward::LoreOptions& options, reward::LoreReport* report = nullptr);

}  // namespace prlm::pipeline
