#include "common/objective/rollout_mismatch.h"

#include <torch/torch.h>

#include <algorithm>

#include "common/util/check.h"

namespace prlm::objective {

void AddRolloutMismatch(const torch::Tensor& learner_logprobs, const torch::Tensor& sampler_logprobs,
                        const torch::Tensor& mask, proto::RolloutMismatch* into) {
  PRLM_CHECK_MSG(learner_logprobs.sizes() == sampler_logprobs.sizes() && mask.sizes() == learner_logprobs.sizes(),
                 "rollout mismatch: learner " << learner_logprobs.sizes() << ", sampler " << sampler_logprobs.sizes()
                                              << ", mask " << mask.sizes());
  torch::NoGradGuard no_grad;
  // In double: exp(r) of a badly mismatched token must not overflow the sums.
  const auto m = mask.to(torch::kDouble);
  const auto learner = learner_logprobs.to(torch::kDouble), sampler = sampler_logprobs.to(torch::kDouble);
  const auto r = (learner - sampler) * m;  // 0 where masked: w = 1 there, and counted out below
  const auto w = torch::exp(r);
  const auto probs_diff = (torch::exp(learner) - torch::exp(sampler)).abs() * m;
  const double tokens = m.sum().item<double>();
  if (tokens == 0) return;
  into->set_tokens(into->tokens() + tokens);
  into->set_sum_neg_log_ratio(into->sum_neg_log_ratio() - r.sum().item<double>());
  into->set_sum_k3(into->sum_k3() + ((w - 1 - r) * m).sum().item<double>());
  into->set_sum_ratio(into->sum_ratio() + (w * m).sum().item<double>());
  into->set_sum_ratio_sq(into->sum_ratio_sq() + (w * w * m).sum().item<double>());
  into->set_sum_probs_diff(into->sum_probs_diff() + probs_diff.sum().item<double>());
  into->set_max_probs_diff(std::max(into->max_probs_diff(), probs_diff.max().item<double>()));
}

void MergeRolloutMismatch(const proto::RolloutMismatch& from, proto::RolloutMismatch* into) {
  into->set_tokens(into->tokens() + from.tokens());
  into->set_sum_neg_log_ratio(into->sum_neg_log_ratio() + from.sum_neg_log_ratio());
  into->set_sum_k3(into->sum_k3() + from.sum_k3());
  into->set_sum_ratio(into->sum_ratio() + from.sum_ratio());
  into->set_sum_ratio_sq(into->sum_ratio_sq() + from.sum_ratio_sq());
  into->set_sum_probs_diff(into->sum_probs_diff() + from.sum_probs_diff());
  into->set_max_probs_diff(std::max(into->max_probs_diff(), from.max_probs_diff()));
}

monitor::RolloutCorrMetrics SummarizeRolloutMismatch(const proto::RolloutMismatch& s) {
  PRLM_CHECK(s.tokens() > 0);
  const double n = s.tokens(), mean_w = s.sum_ratio() / n, mean_w2 = s.sum_ratio_sq() / n;
  monitor::RolloutCorrMetrics out;
  out.kl = s.sum_neg_log_ratio() / n;
  out.k3_kl = s.sum_k3() / n;
  out.ess = mean_w2 > 0 ? mean_w * mean_w / mean_w2 : 0;
  out.probs_diff_mean = s.sum_probs_diff() / n;
  out.probs_diff_max = s.max_probs_diff();
  return out;
}

}  // namespace prlm::objective
