// Training the contrastive reward model with the Bradley-Terry loss
//   loss = -log sigmoid(s(query, chosen) - s(query, rejected))
// averaged over a batch of pairs, as TRL's RewardTrainer does.
//
// Defaults are PrLM's: AdamW lr 5e-5 (betas 0.9/0.999, eps 1e-8, no weight
// decay), batch 64 pairs, 3 epochs, linear decay to 0 with no warm-up,
// gradient norm clipped at 1 (the Trainer default), a 90/10 train/held-out
// split drawn with seed 42. The held-out pairwise accuracy (share of pairs
// with s_chosen > s_rejected) is measured before training and after every
// epoch. Dropout is on while training (the config's probabilities).
//
// Thread-safety: one call at a time per model.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "common/reward/reward_model.h"
#include "pipeline/rm_pairs.h"

namespace prlm::pipeline {

struct RmTrainOptions {
  double lr = 5e-5;
  int batch_size = 64;
  int epochs = 3;
  double weight_decay = 0.0;
  double max_grad_norm = 1.0;  // <= 0: no clipping
  double eval_fraction = 0.1;
  uint64_t seed = 42;
  int log_every = 10;  // optimizer steps between progress lines
};

struct RmEvalResult {
  size_t pairs = 0;
  double accuracy = 0;  // s_chosen > s_rejected
  double loss = 0;      // mean Bradley-Terry loss
};

struct RmTrainReport {
  size_t train_pairs = 0, eval_pairs = 0;
  int steps = 0;
  RmEvalResult before;                    // held-out, untrained
  std::vector<RmEvalResult> after_epoch;  // held-out, after each epoch
  std::vector<double> epoch_train_loss;   // mean over the epoch's batches
  std::vector<double> step_loss;          // every optimizer step
  double seconds = 0;
  std::string ToJson() const;
};

RmEvalResult EvaluatePairs(reward::RewardModel& rm, const std::vector<RmPair>& pairs, int batch_size = 64);

// Trains `rm` in place. `log` gets progress lines. REQUIRES: pairs.size() >= 2.
RmTrainReport TrainRewardModel(reward::RewardModel& rm, const std::vector<RmPair>& pairs, const RmTrainOptions& options,
                               const std::function<void(const std::string&)>& log = {});

// score-rm's input: {"query", "answer"} per JSON line (errors name file:line).
std::vector<std::pair<std::string, std::string>> ReadQueryAnswerPairs(const std::string& path);
// Scores the pairs with `rm`, `batch_size` at a time, and writes one JSON line
// per pair to `out`: {"query", "answer", "score", "sigmoid"}.
// REQUIRES: rm has a trained head (not new_head()).
void WriteRmScores(reward::RewardModel& rm, const std::vector<std::pair<std::string, std::string>>& pairs,
                   int batch_size, FILE* out);

}  // namespace prlm::pipeline
