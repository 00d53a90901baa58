#include "common/reward/lore.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "common/model/safetensors.h"
#include "common/model/weights_io.h"
#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::reward {

torch::Tensor PerUserBtLoss(const torch::Tensor& logits, const torch::Tensor& user, int64_t users) {
  const auto nll = torch::nn::functional::softplus(-logits);  // -log sigmoid
  const auto sums = torch::zeros({users}, nll.options()).index_add(0, user, nll);
  const auto counts = torch::zeros({users}, nll.options()).index_add(0, user, torch::ones_like(nll));
  const auto present = counts > 0;
  return (sums.index({present}) / counts.index({present})).mean();
}

LoreModel LoreModel::Train(const PairDiffs& pairs, const std::vector<std::string>& users, const LoreOptions& o,
                           LoreReport* report) {
  PRLM_REQUIRE(o.basis >= 1, "lore: the basis needs at least one column, got " << o.basis);
  PRLM_REQUIRE(pairs.diffs.dim() == 2 && pairs.diffs.size(0) == static_cast<int64_t>(pairs.user.size()) &&
                   pairs.diffs.size(0) > 0,
               "lore: " << pairs.user.size() << " pair users for " << pairs.diffs.sizes() << " differences");
  PRLM_REQUIRE(o.scale > 0 && o.iterations >= 1, "lore: scale must be > 0 and iterations >= 1");
  const int64_t U = static_cast<int64_t>(users.size()), d = pairs.diffs.size(1);
  std::vector<int64_t> count(static_cast<size_t>(U), 0);
  for (int64_t u : pairs.user) {
    PRLM_CHECK_MSG(u >= 0 && u < U, "pair of user index " << u << " of " << U);
    ++count[static_cast<size_t>(u)];
  }
  for (int64_t u = 0; u < U; ++u)
    PRLM_REQUIRE(count[static_cast<size_t>(u)] > 0, "lore: user " << users[static_cast<size_t>(u)] << " has no pairs");

  torch::manual_seed(o.seed);
  const auto diffs = pairs.diffs.to(torch::kFloat);
  const auto user = torch::tensor(pairs.user, torch::kLong);
  // V_0 ~ N(0, 1/d): first logits of order |diff| / scale.
  auto basis = (torch::randn({d, o.basis}) / std::sqrt(static_cast<double>(d))).set_requires_grad(true);
  const auto basis0 = basis.detach().clone();
  auto logits = torch::zeros({U, o.basis}).set_requires_grad(true);
  torch::optim::Adam opt_basis({basis}, torch::optim::AdamOptions(o.lr_basis));
  torch::optim::Adam opt_weights({logits}, torch::optim::AdamOptions(o.lr_weights));
  const auto loss_of = [&] {
    const auto w = torch::softmax(logits, 1).index_select(0, user);  // [N, B]
    const auto pair_logits = (diffs.matmul(basis) * w).sum(1) / o.scale;
    auto loss = PerUserBtLoss(pair_logits, user, U);
    if (o.alpha > 0) loss = loss + o.alpha * (basis - basis0).pow(2).sum();
    return loss;
  };
  LoreReport r;
  for (int64_t it = 0; it < o.iterations; ++it) {
    // Alternating: the basis with the weights fixed, then the weights.
    for (auto* opt :
         {static_cast<torch::optim::Optimizer*>(&opt_basis), static_cast<torch::optim::Optimizer*>(&opt_weights)}) {
      opt->zero_grad();
      const auto loss = loss_of();
      if (it == 0 && opt == &opt_basis) r.first_loss = loss.item<double>();
      loss.backward();
      opt->step();
    }
  }
  LoreModel m;
  m.scale_ = o.scale;
  {
    torch::NoGradGuard no_grad;
    r.final_loss = loss_of().item<double>();
    r.basis_before_pruning = o.basis;
    // Columns no user weighs above prune_below carry nothing: drop them.
    const auto used = std::get<0>(torch::softmax(logits, 1).max(0)) > o.prune_below;
    PRLM_CHECK(used.any().item<bool>());
    m.basis_ = basis.detach().index({torch::indexing::Slice(), used}).contiguous();
    m.user_logits_ = logits.detach().index({torch::indexing::Slice(), used}).contiguous();
    r.basis = m.basis_.size(1);
  }
  m.user_ids_ = users;
  for (int64_t u = 0; u < U; ++u) m.user_row_[users[static_cast<size_t>(u)]] = u;
  m.UpdateMean();
  if (report) *report = r;
  return m;
}

torch::Tensor LoreModel::Table() const { return user_logits_.narrow(0, 0, static_cast<int64_t>(user_ids_.size())); }

void LoreModel::UpdateMean() { mean_weights_ = torch::softmax(Table(), 1).mean(0); }

torch::Tensor LoreModel::FitWeights(const torch::Tensor& diffs, const LoreOptions& o) const {
  PRLM_REQUIRE(diffs.dim() == 2 && diffs.size(0) >= 1 && diffs.size(1) == dim(),
               "lore: adaptation needs [k >= 1, " << dim() << "] pair differences, got " << diffs.sizes());
  PRLM_REQUIRE(torch::isfinite(diffs).all().item<bool>(), "lore: adaptation pairs have non-finite embeddings");
  auto logits = torch::zeros({basis_size()}).set_requires_grad(true);
  torch::optim::Adam opt({logits}, torch::optim::AdamOptions(o.adapt_lr));
  const auto projected = diffs.to(torch::kFloat).matmul(basis_);  // [k, B], V frozen
  for (int64_t it = 0; it < o.adapt_iterations; ++it) {
    opt.zero_grad();
    const auto loss = torch::nn::functional::softplus(-(projected.matmul(torch::softmax(logits, 0)) / scale_)).mean();
    loss.backward();
    opt.step();
  }
  return torch::softmax(logits.detach(), 0);
}

torch::Tensor LoreModel::WeightsOf(const std::string& user, bool* known) const {
  const auto it = user_row_.find(user);
  if (known) *known = it != user_row_.end();
  return it == user_row_.end() ? mean_weights_ : torch::softmax(user_logits_[it->second], 0);
}

torch::Tensor LoreModel::LogitsOf(const torch::Tensor& weights) { return weights.clamp_min(1e-12).log(); }

LoreModel LoreModel::Clone() const {
  LoreModel m = *this;
  m.basis_ = basis_.clone();
  m.user_logits_ = Table().clone();
  m.mean_weights_ = mean_weights_.clone();
  return m;
}

void LoreModel::SetUser(const std::string& user, const torch::Tensor& logits) {
  PRLM_REQUIRE(logits.dim() == 1 && logits.size(0) == basis_size(),
               "lore: user " << user << " needs " << basis_size() << " logits, got " << logits.sizes());
  PRLM_REQUIRE(torch::isfinite(logits).all().item<bool>(), "lore: user " << user << " has non-finite logits");
  const auto it = user_row_.find(user);
  if (it != user_row_.end()) {
    user_logits_[it->second].copy_(logits);
  } else {
    // Rows grow by doubling, so adding n users costs O(n) row copies, not O(n^2).
    const int64_t row = static_cast<int64_t>(user_ids_.size());
    if (row == user_logits_.size(0)) {
      auto grown = torch::zeros({std::max<int64_t>(2 * row, 16), basis_size()});
      grown.narrow(0, 0, row).copy_(user_logits_);
      user_logits_ = grown;
    }
    user_logits_[row].copy_(logits);
    user_row_[user] = row;
    user_ids_.push_back(user);
  }
}

torch::Tensor LoreModel::Rewards(const torch::Tensor& phi, const torch::Tensor& weights) const {
  return phi.to(torch::kFloat).matmul(basis_).matmul(weights) / scale_;
}

torch::Tensor LoreModel::PairLogits(const torch::Tensor& diffs, const torch::Tensor& weights) const {
  return Rewards(diffs, weights);
}

torch::Tensor LoreModel::PairLogits(const torch::Tensor& diffs, const std::vector<std::string>& users) const {
  PRLM_CHECK(diffs.size(0) == static_cast<int64_t>(users.size()));
  std::vector<torch::Tensor> w;
  for (const auto& u : users) w.push_back(WeightsOf(u));
  return (diffs.to(torch::kFloat).matmul(basis_) * torch::stack(w)).sum(1) / scale_;
}

void LoreModel::SaveTable(const std::string& dir) const {
  std::filesystem::create_directories(dir);
  const auto basis = basis_.contiguous(), logits = Table().contiguous();
  // The users ride in the file's metadata: one atomic write keeps rows and ids together.
  model::WriteSafetensors(
      dir + "/lore.safetensors",
      {{"basis", model::DType::kF32, basis.sizes().vec(), basis.data_ptr(), static_cast<size_t>(basis.nbytes())},
       {"user_logits", model::DType::kF32, logits.sizes().vec(), logits.data_ptr(),
        static_cast<size_t>(logits.nbytes())}},
      {{"users", nlohmann::json(user_ids_).dump()}});
}

void LoreModel::Save(const std::string& dir, const std::string& embedder, const std::string& pooling,
                     const LoreOptions& o, const LoreReport& r) const {
  SaveTable(dir);
  nlohmann::ordered_json j;
  j["embedder"] = embedder;
  j["pooling"] = pooling;
  j["scale"] = scale_;
  j["basis"] = basis_size();
  j["users"] = user_ids_;
  j["options"] = {{"basis", o.basis},       {"iterations", o.iterations},
                  {"lr_basis", o.lr_basis}, {"lr_weights", o.lr_weights},
                  {"alpha", o.alpha},       {"prune_below", o.prune_below},
                  {"seed", o.seed},         {"adapt_iterations", o.adapt_iterations},
                  {"adapt_lr", o.adapt_lr}};
  j["report"] = {{"first_loss", r.first_loss},
                 {"final_loss", r.final_loss},
                 {"basis_before_pruning", r.basis_before_pruning},
                 {"basis", r.basis}};
  util::WriteFileAtomic(dir + "/lore.json", j.dump(2) + "\n");
}

LoreModel LoreModel::Load(const std::string& dir, std::string* embedder, std::string* pooling) {
  const std::string json_path = dir + "/lore.json";
  PRLM_REQUIRE(std::filesystem::exists(json_path), dir << " is not a LoRe model (no lore.json; train-lore writes one)");
  LoreModel m;
  std::vector<std::string> users;
  try {
    const auto j = nlohmann::json::parse(util::ReadFile(json_path));
    users = j.at("users").get<std::vector<std::string>>();
    m.scale_ = j.at("scale").get<double>();
    if (embedder) *embedder = j.at("embedder").get<std::string>();
    if (pooling) *pooling = j.value("pooling", std::string("pooler"));
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW(json_path << ": " << e.what());
  }
  const model::SafetensorsFile file(dir + "/lore.safetensors");
  // The table's own user list (SaveTable) wins over lore.json's, which adaptations do not rewrite.
  if (const auto it = file.metadata().find("users"); it != file.metadata().end()) {
    try {
      users = nlohmann::json::parse(it->second).get<std::vector<std::string>>();
    } catch (const nlohmann::json::exception& e) {
      PRLM_THROW(dir << "/lore.safetensors: metadata \"users\" is not a list of ids: " << e.what());
    }
  }
  m.basis_ = model::ReadTensor(file, file.Info("basis")).to(torch::kFloat);
  m.user_logits_ = model::ReadTensor(file, file.Info("user_logits")).to(torch::kFloat);
  PRLM_REQUIRE(m.basis_.dim() == 2 && m.user_logits_.dim() == 2 && m.user_logits_.size(1) == m.basis_.size(1) &&
                   m.user_logits_.size(0) == static_cast<int64_t>(users.size()),
               dir << ": basis " << m.basis_.sizes() << ", user_logits " << m.user_logits_.sizes() << " and "
                   << users.size() << " users in lore.json do not fit together");
  PRLM_REQUIRE(m.scale_ > 0, json_path << ": scale must be > 0");
  m.user_ids_ = users;
  for (size_t u = 0; u < users.size(); ++u)
    PRLM_REQUIRE(m.user_row_.emplace(users[u], static_cast<int64_t>(u)).second,
                 json_path << ": user " << users[u] << " is listed twice");
  m.UpdateMean();
  return m;
}

}  // namespace prlm::reward
