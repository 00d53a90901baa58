#include "pipeline/lore_training.h"

#include <cmath>

#include "common/util/check.h"

namespace prlm::pipeline {

torch::Tensor PerUserBtLoss(const torch::Tensor& logits, const torch::Tensor& user, int64_t users) {
  const auto nll = torch::nn::functional::softplus(-logits);  // -log sigmoid
  const auto sums = torch::zeros({users}, nll.options()).index_add(0, user, nll);
  const auto counts = torch::zeros({users}, nll.options()).index_add(0, user, torch::ones_like(nll));
  const auto present = counts > 0;
  return (sums.index({present}) / counts.index({present})).mean();
}

reward::LoreModel TrainLore(const reward::PairDiffs& pairs, const std::vector<std::string>& users,
                            const reward::LoreOptions& o, reward::LoreReport* report) {
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
  reward::LoreReport r;
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
  torch::NoGradGuard no_grad;
  r.final_loss = loss_of().item<double>();
  r.basis_before_pruning = o.basis;
  // Columns no user weighs above prune_below carry nothing: drop them.
  const auto used = std::get<0>(torch::softmax(logits, 1).max(0)) > o.prune_below;
  PRLM_CHECK(used.any().item<bool>());
  reward::LoreModel m(basis.detach().index({torch::indexing::Slice(), used}).contiguous(),
                      logits.detach().index({torch::indexing::Slice(), used}).contiguous(), users, o.scale);
  r.basis = m.basis_size();
  if (report) *report = r;
  return m;
}

}  // namespace prlm::pipeline
