#include "common/objective/grpo_loss.h"

#include "common/util/check.h"

namespace prlm::objective {

GrpoLoss ComputeGrpoLoss(const torch::Tensor& logp, const torch::Tensor& old_logp, const torch::Tensor& ref_logp,
                         const torch::Tensor& advantages, const torch::Tensor& mask, const GrpoLossOptions& o,
                         const torch::Tensor& pg_weight) {
  PRLM_CHECK(logp.dim() == 2 && logp.sizes() == old_logp.sizes() && logp.sizes() == mask.sizes());
  PRLM_CHECK(advantages.dim() == 1 && advantages.size(0) == logp.size(0));
  PRLM_CHECK(o.beta == 0 || (ref_logp.defined() && ref_logp.sizes() == logp.sizes()));
  PRLM_CHECK(o.aggregation != config::LossAggregation::kConstant || o.max_completion_length > 0);
  PRLM_CHECK(o.dual_clip_c == 0 || o.dual_clip_c > 1);
  const auto m = mask.to(logp.scalar_type());
  const auto a = advantages.to(logp.scalar_type()).unsqueeze(1);  // [B, 1]

  // 1. Clipped policy term.
  const auto log_ratio = logp - old_logp.detach();
  const auto ratio = torch::exp(log_ratio);
  const auto clipped = torch::clamp(ratio, 1 - o.clip_eps_low, 1 + o.clip_eps_high);
  auto pg = -torch::min(ratio * a, clipped * a);
  torch::Tensor dual_bounded;
  if (o.dual_clip_c > 0) {
    const auto cap = -a * o.dual_clip_c;
    dual_bounded = (a < 0) & (pg > cap);
    pg = torch::where(a < 0, torch::min(pg, cap), pg);
  }
  if (pg_weight.defined()) {
    PRLM_CHECK(pg_weight.sizes() == logp.sizes());
    pg = pg * pg_weight.detach().to(pg.scalar_type());
  }
  // 2. KL to the reference.
  torch::Tensor kl;
  if (o.beta != 0) {
    const auto d = ref_logp.detach() - logp;  // log(ref / pi)
    switch (o.kl) {
      case config::KlEstimator::kK3:
        kl = torch::exp(d) - d - 1;
        break;
      case config::KlEstimator::kK1:
        kl = -d;
        break;
      case config::KlEstimator::kK2:
        kl = 0.5 * d * d;
        break;
    }
  }
  const auto per_token = o.beta != 0 ? pg + o.beta * kl : pg;

  // 3. Aggregate over completion tokens.
  const auto aggregate = [&](const torch::Tensor& t) {
    switch (o.aggregation) {
      case config::LossAggregation::kTokenMean:
        return (t * m).sum() / m.sum().clamp_min(1);
      case config::LossAggregation::kSequenceMean:
        return ((t * m).sum(1) / m.sum(1).clamp_min(1)).mean();
      case config::LossAggregation::kConstant:
        return (t * m).sum() / double(t.size(0) * o.max_completion_length);
    }
    return torch::Tensor();
  };
  GrpoLoss out;
  out.loss = aggregate(per_token);
  torch::NoGradGuard no_grad;
  const double n = m.sum().item<double>();
  out.tokens = static_cast<int64_t>(n);
  const auto token_mean = [&](const torch::Tensor& t) { return n > 0 ? (t * m).sum().item<double>() / n : 0.0; };
  out.pg_loss = aggregate(pg.detach()).item<double>();
  out.kl = kl.defined() ? token_mean(kl.detach()) : 0.0;
  out.ppo_kl = token_mean(-log_ratio.detach());
  // Clipped where the clipped branch won: ratio outside the range on the side A pushes.
  const auto is_clipped = ((ratio < 1 - o.clip_eps_low) & (a < 0)) | ((ratio > 1 + o.clip_eps_high) & (a > 0));
  out.clipfrac = token_mean(is_clipped.to(m.scalar_type()));
  out.dual_clipfrac = dual_bounded.defined() ? token_mean(dual_bounded.to(m.scalar_type())) : 0.0;
  return out;
}

torch::Tensor CompletionMask(const torch::Tensor& tokens, const std::vector<int64_t>& lengths,
                             const std::vector<int32_t>& stop_token_ids) {
  PRLM_CHECK(tokens.dim() == 2 && static_cast<int64_t>(lengths.size()) == tokens.size(0));
  const auto t = tokens.to(torch::kLong).cpu().contiguous();
  auto mask = torch::zeros(t.sizes(), torch::kFloat);
  auto ta = t.accessor<int64_t, 2>();
  auto ma = mask.accessor<float, 2>();
  for (int64_t b = 0; b < t.size(0); ++b) {
    PRLM_CHECK(lengths[b] >= 0 && lengths[b] <= t.size(1));
    for (int64_t i = 0; i < lengths[b]; ++i) {
      ma[b][i] = 1;
      bool stop = false;
      for (int32_t s : stop_token_ids) stop |= ta[b][i] == s;
      if (stop) break;
    }
  }
  return mask;
}

}  // namespace prlm::objective
