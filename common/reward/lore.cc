#include "common/reward/lore.h"

#include <nlohmann/json.hpp>

#include <filesystem>

#include "common/model/safetensors.h"
#include "common/model/weights_io.h"
#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::reward {

LoreModel::LoreModel(torch::Tensor basis, torch::Tensor user_logits, std::vector<std::string> users, double scale)
    : basis_(std::move(basis)), user_logits_(std::move(user_logits)), user_ids_(std::move(users)), scale_(scale) {
  PRLM_REQUIRE(basis_.dim() == 2 && user_logits_.dim() == 2 && user_logits_.size(1) == basis_.size(1) &&
                   user_logits_.size(0) == static_cast<int64_t>(user_ids_.size()) && !user_ids_.empty(),
               "lore: a basis " << basis_.sizes() << " and user logits " << user_logits_.sizes() << " for "
                                << user_ids_.size() << " users do not fit together");
  for (size_t u = 0; u < user_ids_.size(); ++u) {
    PRLM_REQUIRE(user_row_.emplace(user_ids_[u], static_cast<int64_t>(u)).second,
                 "lore: user " << user_ids_[u] << " appears twice");
  }
  UpdateMean();
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
