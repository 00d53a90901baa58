// LoRe's offline pipeline (docs/lore.md): phi of preference pairs from a
// frozen BERT directory, training a LoreModel on the train split, adapting a
// new user, and the paper's comparison (pairwise accuracy of seen users on
// unseen prompts and of unseen users after k few-shot pairs) against a shared
// Bradley-Terry model and per-user models, both linear on the same phi.
//
// Thread-safety: plain functions; the embedder is used by one call at a time.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/data/preference_file.h"
#include "common/model/bert.h"
#include "common/reward/lore.h"
#include "common/reward/preference_embedding.h"
#include "common/reward/reward_model.h"

namespace prlm::pipeline {

// Share of pairs whose logit is > 0 (a tie counts half), per pair (0, 0.5, 1).
std::vector<double> PairCorrect(const torch::Tensor& logits);
// The mean of PairCorrect: pairwise accuracy.
double PairAccuracy(const torch::Tensor& logits);
// The mean of per-pair values (0 for none).
double MeanOf(const std::vector<double>& values);

// A linear Bradley-Terry model per group on phi: v [G, d] minimising the
// per-group mean NLL of sigmoid(diff . v_g / scale) + l2 ||v||^2 (full-batch Adam).
torch::Tensor FitLinearBt(const torch::Tensor& diffs, const std::vector<int64_t>& group, int64_t groups, double scale,
                          double l2, int64_t iterations, double lr);

// train-lore: fits LoRe (pipeline/lore_training.h) on the set's train pairs
// with phi from `embedder` (`embedder_dir`, `pooling` recorded in the model)
// and saves it to out_dir. Returns the report: pairs, users, loss, basis, and
// the pairwise accuracy on those users' test pairs (unseen prompts) if any.
// Throws util::Error when the set has no train pairs.
std::string TrainLoreOnSet(const data::PreferenceSet& set, const std::string& set_path, reward::RewardModel& embedder,
                           const std::string& embedder_dir, const std::string& pooling,
                           const reward::LoreOptions& options, const std::string& out_dir);

// adapt-user: fits `user`'s mixture weights from their fewshot and train
// pairs (the first `k`, 0: all) with the basis of the LoRe model in
// `lore_dir` frozen, and writes the user into its table. Returns the report:
// the weights and, when the set has test pairs of the user, the pairwise
// accuracy before (the old or population weights) and after.
std::string AdaptLoreUser(const std::string& lore_dir, const std::string& user, const data::PreferenceSet& set,
                          const std::string& set_path, int64_t k, const reward::LoreOptions& options, int max_length);

struct LoreComparisonOptions {
  std::vector<int64_t> bases = {1, 2, 4, 8, 16};
  std::vector<int64_t> shots = {1, 2, 5, 10, 20};
  int64_t compare_basis = 8;  // the LoRe row the differences table tests
  double linear_l2 = 1e-3;    // the shared and per-user linear models' L2
  reward::LoreOptions lore;
};

// The comparison as markdown: accuracy table (n per column), Bayes accuracy
// from `truth_path` when given, and LoRe (compare_basis) minus shared and
// minus per-user with paired bootstrap 95% intervals over the same pairs.
std::string CompareLore(const data::PreferenceSet& set, reward::RewardModel& embedder, model::Pooling pooling,
                        const LoreComparisonOptions& options, const std::string& truth_path);

}  // namespace prlm::pipeline
