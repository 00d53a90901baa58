// LoRe as the personalization reward (reward.personalization=lore;
// docs/lore.md): each completion is scored with its item's user's weights,
//
//   lore_score = phi(query, answer)^T V w_user / scale,
//   personalization = sigmoid(lore_score),
//
// phi from the model's embedder (a BERT directory) on the scorer's model
// thread, batched like the BT reward model. An unknown user gets the
// population mean weights (lore_known_user 0, else 1: its step mean is the
// share of known users). An item without an answer scores 0.
//
// Online adaptation: Adapt(user, pairs) embeds the pairs, fits the user's
// weights with V frozen (LoreModel::FitWeights), and swaps in a new model
// snapshot with the user set; each user has a version (0: never adapted
// here). Scoring goes on meanwhile: a batch takes one snapshot when it
// starts, so every score uses the old or the new weights, never a mix.
// Bad adaptation input (no pairs, more than max_adapt_pairs, an empty text,
// chosen equal to rejected, non-finite embeddings) throws InvalidRewardInput.
// With a persist_dir (the model directory) each adaptation's table is
// written there (LoreModel::SaveTable, one atomic file), so a restarted
// server starts with it; a failed write leaves the adaptation served from
// memory and says so in LoreUserWeights::persist_error.
//
// Thread-safety: Prepare, Adapt and UserWeights from any thread; ScoreBatch
// from the scorer's model thread; the embedder runs under one mutex.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/model/bert.h"
#include "common/reward/lore.h"
#include "reward_server/reward_component.h"

namespace prlm::reward {
class RewardModel;  // common/reward/reward_model.h
}  // namespace prlm::reward

namespace prlm::reward_server {

struct LorePair {
  std::string prompt, chosen, rejected;
};

struct LoreUserWeights {
  bool known = false;   // in the table (else the population mean)
  int64_t version = 0;  // adaptations of this user on this server
  std::vector<double> weights;
  std::string persist_error;  // Adapt with a persist_dir: why the table was not written ("" when it was)
};

class LoreReward : public RewardComponent {
 public:
  // REQUIRES: embedder non-null, its hidden size the model's dim().
  LoreReward(std::shared_ptr<reward::RewardModel> embedder, model::Pooling pooling, reward::LoreModel model,
             reward::LoreOptions adapt_options, int max_forward_batch, size_t max_adapt_pairs = 1024,
             std::string persist_dir = "");
  ~LoreReward() override;
  const std::vector<std::string>& outputs() const override;
  std::unique_ptr<PreparedItem> Prepare(const RewardInput& input, double* out) const override;
  void ScoreBatch(const std::vector<const PreparedItem*>& items, const std::vector<double*>& out) override;

  LoreUserWeights Adapt(const std::string& user, const std::vector<LorePair>& pairs);
  LoreUserWeights UserWeights(const std::string& user) const;
  // Users adapted here, and scored items whose user was unknown.
  std::map<std::string, uint64_t> Counters() const;

 private:
  std::shared_ptr<const reward::LoreModel> Snapshot() const;

  std::shared_ptr<reward::RewardModel> embedder_;
  model::Pooling pooling_;
  reward::LoreOptions adapt_options_;
  int max_forward_batch_;
  size_t max_adapt_pairs_;
  std::string persist_dir_;
  std::mutex embed_mu_;
  std::mutex
      persist_mu_;  // one table write at a time, the newest last            // the embedder runs one call at a time
  mutable std::mutex model_mu_;  // guards model_, versions_, counters
  std::shared_ptr<const reward::LoreModel> model_;
  std::map<std::string, int64_t> versions_;
  uint64_t adaptations_ = 0, unknown_user_items_ = 0, persist_failures_ = 0;
};

}  // namespace prlm::reward_server
