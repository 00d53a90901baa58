// LoRe, low-rank personalized reward models (arXiv 2504.14439; REFERENCE.md,
// docs/lore.md): every user's reward is a mixture of B shared basis rewards
// on a frozen embedding phi(x, y) of a (prompt, response) pair,
//
//   r_i(x, y) = phi(x, y)^T V w_i / scale,   w_i = softmax(theta_i),
//
// V in R^{d x B} shared, theta_i in R^B per user. A pair (chosen c,
// rejected r) of user i has P(c > r) = sigmoid((phi_c - phi_r)^T V w_i / scale).
//
// Training the basis and the users' weights is an offline step
// (pipeline/lore_training.h). FitWeights here: a new user's theta with V
// frozen (Adam, adapt_iterations steps at adapt_lr, from theta = 0: the
// uniform mixture), which the reward tier also does while serving.
// An unknown user gets the population mean weights (the mean of the seen
// users' w).
//
// On disk (Save / Load): DIR/lore.safetensors ("basis" [d, B], "user_logits"
// [U, B], the users in row order in its metadata), DIR/lore.json (the users
// as trained, scale, the embedder directory and pooling, the options and the
// training report).
//
// Thread-safety: const methods are safe to call concurrently; SetUser and
// Load build or change the model and need exclusive access.
#pragma once

#include <torch/torch.h>

#include <map>
#include <string>
#include <vector>

namespace prlm::reward {

struct LoreOptions {
  int64_t basis = 8;
  double scale = 100;
  int64_t iterations = 400;  // alternations of a V step and a theta step
  double lr_basis = 1e-2, lr_weights = 5e-2;
  double alpha = 0;  // weight of ||V - V_0||^2
  double prune_below = 1e-2;
  int64_t adapt_iterations = 500;
  double adapt_lr = 0.1;
  uint64_t seed = 1;
};

// Preference pairs as embedding differences phi(chosen) - phi(rejected).
struct PairDiffs {
  torch::Tensor diffs;        // [N, d] float
  std::vector<int64_t> user;  // [N]: index into the user list
};

struct LoreReport {
  double first_loss = 0, final_loss = 0;
  int64_t basis_before_pruning = 0, basis = 0;
};

class LoreModel {
 public:
  LoreModel() = default;
  // A trained model: basis V [d, B], user_logits theta [U, B] (row u is
  // users[u]). Throws util::Error when the shapes disagree or a user repeats.
  LoreModel(torch::Tensor basis, torch::Tensor user_logits, std::vector<std::string> users, double scale);

  // The mixture weights [B] fitted to a new user's pairs `diffs` [k, d], V frozen.
  torch::Tensor FitWeights(const torch::Tensor& diffs, const LoreOptions& options) const;
  // The user's weights [B]; unknown users get the population mean (*known = false).
  torch::Tensor WeightsOf(const std::string& user, bool* known = nullptr) const;
  // A copy that shares no tensor with this one (SetUser on it leaves this alone).
  LoreModel Clone() const;
  // Adds or replaces a user's logits theta [B].
  void SetUser(const std::string& user, const torch::Tensor& logits);
  // theta from weights on the simplex (log, so softmax gives them back).
  static torch::Tensor LogitsOf(const torch::Tensor& weights);

  // Rewards phi [N, d] -> [N] under weights w [B].
  torch::Tensor Rewards(const torch::Tensor& phi, const torch::Tensor& weights) const;
  // The preference logits of pair differences [N, d] under w [B].
  torch::Tensor PairLogits(const torch::Tensor& diffs, const torch::Tensor& weights) const;
  // The same, each pair under its own user's weights (users [N]).
  torch::Tensor PairLogits(const torch::Tensor& diffs, const std::vector<std::string>& users) const;

  void Save(const std::string& dir, const std::string& embedder, const std::string& pooling, const LoreOptions& options,
            const LoreReport& report) const;
  // DIR/lore.safetensors alone, with the users in its metadata (one atomic
  // write): what an adaptation changes; lore.json stays as trained.
  void SaveTable(const std::string& dir) const;
  // Also returns the embedder directory and pooling recorded by Save.
  static LoreModel Load(const std::string& dir, std::string* embedder = nullptr, std::string* pooling = nullptr);

  int64_t dim() const { return basis_.size(0); }
  int64_t basis_size() const { return basis_.size(1); }
  size_t users() const { return user_row_.size(); }
  const torch::Tensor& basis() const { return basis_; }
  const std::vector<std::string>& user_ids() const { return user_ids_; }

 private:
  torch::Tensor basis_;         // [d, B]
  torch::Tensor user_logits_;   // [capacity >= U, B]; row r is user_ids_[r]
  torch::Tensor mean_weights_;  // [B]
  std::vector<std::string> user_ids_;
  std::map<std::string, int64_t> user_row_;
  double scale_ = 100;

  void UpdateMean();
  // The table's used rows (user_logits_ has spare rows after SetUser grows it).
  torch::Tensor Table() const;
};

}  // namespace prlm::reward
