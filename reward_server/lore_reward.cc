#include "reward_server/lore_reward.h"

#include <cmath>

#include "common/reward/preference_embedding.h"
#include "common/reward/reward_model.h"
#include "common/util/check.h"

namespace prlm::reward_server {
namespace {

struct EncodedAnswer : PreparedItem {
  text::Encoding encoding;
  std::string user;
};

std::vector<double> ToVector(const torch::Tensor& t) {
  const auto c = t.to(torch::kDouble).contiguous();
  return std::vector<double>(c.data_ptr<double>(), c.data_ptr<double>() + c.numel());
}

}  // namespace

LoreReward::LoreReward(std::shared_ptr<reward::RewardModel> embedder, model::Pooling pooling, reward::LoreModel model,
                       reward::LoreOptions adapt_options, int max_forward_batch, size_t max_adapt_pairs,
                       std::string persist_dir)
    : embedder_(std::move(embedder)),
      pooling_(pooling),
      adapt_options_(adapt_options),
      max_forward_batch_(max_forward_batch),
      max_adapt_pairs_(max_adapt_pairs),
      persist_dir_(std::move(persist_dir)),
      model_(std::make_shared<const reward::LoreModel>(std::move(model))) {
  PRLM_CHECK(embedder_ && max_forward_batch_ >= 1 && max_adapt_pairs_ >= 1);
  PRLM_REQUIRE(embedder_->encoder()->config().hidden_size == model_->dim(),
               "lore: the embedder's hidden size " << embedder_->encoder()->config().hidden_size
                                                   << " is not the basis dimension " << model_->dim());
}

LoreReward::~LoreReward() = default;

const std::vector<std::string>& LoreReward::outputs() const {
  static const std::vector<std::string> names = {"personalization", "lore_score", "lore_known_user"};
  return names;
}

std::unique_ptr<PreparedItem> LoreReward::Prepare(const RewardInput& input, double*) const {
  if (!input.answer.found) return nullptr;
  auto item = std::make_unique<EncodedAnswer>();
  item->encoding = embedder_->Encode(input.item->query(), input.answer.answer);
  item->tokens = static_cast<int64_t>(item->encoding.ids.size());
  item->user = input.item->user_id();
  return item;
}

std::shared_ptr<const reward::LoreModel> LoreReward::Snapshot() const {
  std::lock_guard<std::mutex> lock(model_mu_);
  return model_;
}

void LoreReward::ScoreBatch(const std::vector<const PreparedItem*>& items, const std::vector<double*>& out) {
  if (items.empty()) return;
  const auto model = Snapshot();  // one snapshot for the whole batch: old or new weights, never a mix
  std::vector<const text::Encoding*> encodings;
  for (const auto* item : items) encodings.push_back(&static_cast<const EncodedAnswer*>(item)->encoding);
  torch::Tensor phi;
  {
    std::lock_guard<std::mutex> lock(embed_mu_);
    phi = embedder_->EmbedAll(encodings, pooling_, max_forward_batch_);
  }
  uint64_t unknown = 0;
  for (size_t i = 0; i < items.size(); ++i) {
    bool known = false;
    const auto w = model->WeightsOf(static_cast<const EncodedAnswer*>(items[i])->user, &known);
    const double score = model->Rewards(phi.narrow(0, static_cast<int64_t>(i), 1), w).item<double>();
    out[i][0] = 1.0 / (1.0 + std::exp(-score));
    out[i][1] = score;
    out[i][2] = known ? 1.0 : 0.0;
    unknown += !known;
  }
  std::lock_guard<std::mutex> lock(model_mu_);
  unknown_user_items_ += unknown;
}

LoreUserWeights LoreReward::Adapt(const std::string& user, const std::vector<LorePair>& pairs) {
  // 1. The input, checked before any model work.
  if (user.empty()) throw InvalidRewardInput("adapt: the user id is empty");
  if (pairs.empty()) throw InvalidRewardInput("adapt: user " + user + " came with no pairs");
  if (pairs.size() > max_adapt_pairs_)
    throw InvalidRewardInput("adapt: " + std::to_string(pairs.size()) + " pairs for user " + user + "; at most " +
                             std::to_string(max_adapt_pairs_) + " per request");
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto& p = pairs[i];
    if (p.prompt.empty() || p.chosen.empty() || p.rejected.empty())
      throw InvalidRewardInput("adapt: pair " + std::to_string(i) + " of user " + user + " has an empty text");
    if (p.chosen == p.rejected)
      throw InvalidRewardInput("adapt: pair " + std::to_string(i) + " of user " + user +
                               ": chosen and rejected are the same text");
  }
  // 2. phi differences (the embedder is shared with scoring), then the fit
  // against the current basis, outside every lock.
  std::vector<const LorePair*> ptrs;
  for (const auto& p : pairs) ptrs.push_back(&p);
  torch::Tensor diffs;
  {
    std::lock_guard<std::mutex> lock(embed_mu_);
    diffs = reward::PairDifferences(*embedder_, pooling_, ptrs, max_forward_batch_);
  }
  if (!torch::isfinite(diffs).all().item<bool>())
    throw InvalidRewardInput("adapt: the pairs of user " + user + " embed to non-finite values");
  const auto base = Snapshot();
  const auto weights = base->FitWeights(diffs, adapt_options_);
  // 3. A new snapshot with the user set; batches already running keep theirs.
  LoreUserWeights out{true, 0, ToVector(weights), ""};
  {
    std::lock_guard<std::mutex> lock(model_mu_);
    auto next = std::make_shared<reward::LoreModel>(model_->Clone());
    next->SetUser(user, reward::LoreModel::LogitsOf(weights));
    model_ = std::move(next);
    ++adaptations_;
    out.version = ++versions_[user];
  }
  // 4. The table on disk: the newest snapshot, written after taking the
  // write lock, so a slower writer never puts back an older table.
  if (!persist_dir_.empty()) {
    std::lock_guard<std::mutex> lock(persist_mu_);
    try {
      Snapshot()->SaveTable(persist_dir_);
    } catch (const std::exception& e) {
      out.persist_error =
          std::string("adapted in memory; writing the table to ") + persist_dir_ + " failed: " + e.what();
      std::lock_guard<std::mutex> count(model_mu_);
      ++persist_failures_;
    }
  }
  return out;
}

LoreUserWeights LoreReward::UserWeights(const std::string& user) const {
  std::lock_guard<std::mutex> lock(model_mu_);
  bool known = false;
  const auto w = model_->WeightsOf(user, &known);
  const auto it = versions_.find(user);
  return {known, it == versions_.end() ? 0 : it->second, ToVector(w), ""};
}

std::map<std::string, uint64_t> LoreReward::Counters() const {
  std::lock_guard<std::mutex> lock(model_mu_);
  return {{"lore_adaptations", adaptations_},
          {"lore_unknown_user_items", unknown_user_items_},
          {"lore_persist_failures", persist_failures_}};
}

}  // namespace prlm::reward_server
