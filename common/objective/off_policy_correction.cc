#include "common/objective/off_policy_correction.h"

#include <torch/torch.h>

#include "common/util/check.h"

namespace prlm::objective {

using config::OffPolicyCorrection;

OffPolicyOptions OffPolicyOptionsOf(const config::GrpoConfig& grpo) {
  OffPolicyOptions o;
  o.method = grpo.off_policy;
  if (o.method == OffPolicyCorrection::kAuto)
    o.method = grpo.max_staleness >= 1 && grpo.old_logprobs == "recompute" ? OffPolicyCorrection::kDecoupled
                                                                           : OffPolicyCorrection::kNone;
  o.cap = grpo.is_cap > 0 ? grpo.is_cap : o.method == OffPolicyCorrection::kDecoupled ? 5.0 : 2.0;
  o.mask_low = grpo.is_mask_low;
  o.mask_high = grpo.is_mask_high;
  return o;
}

OffPolicyWeights ComputeOffPolicyWeights(const torch::Tensor& prox_logprobs, const torch::Tensor& behav_logprobs,
                                         const torch::Tensor& mask, const OffPolicyOptions& o) {
  PRLM_CHECK(prox_logprobs.dim() == 2 && prox_logprobs.sizes() == behav_logprobs.sizes() &&
             prox_logprobs.sizes() == mask.sizes());
  PRLM_CHECK(o.method != OffPolicyCorrection::kNone && o.method != OffPolicyCorrection::kAuto);
  torch::NoGradGuard no_grad;
  // In fp32 at least, whatever the compute dtype; padding's log ratio is 0 (w = 1).
  const auto dtype = torch::promote_types(prox_logprobs.scalar_type(), torch::kFloat);
  const auto m = mask.to(dtype);
  const auto real = m > 0;
  const auto log_w = torch::where(real, prox_logprobs.to(dtype) - behav_logprobs.to(dtype), torch::zeros_like(m));
  const auto w = torch::exp(log_w);
  OffPolicyWeights out;
  out.tokens = real.sum().item<int64_t>();
  out.mask = m;
  torch::Tensor changed;  // [B, T] bool, on real tokens
  switch (o.method) {
    case OffPolicyCorrection::kDecoupled:
      changed = real & (w > o.cap);
      out.weight = torch::where(changed, torch::zeros_like(w), w);
      break;
    case OffPolicyCorrection::kTisToken:
      changed = real & (w > o.cap);
      out.weight = w.clamp_max(o.cap);
      break;
    case OffPolicyCorrection::kTisSequence: {
      const auto seq_w = torch::exp(log_w.sum(1, /*keepdim=*/true));  // [B, 1]
      changed = real & (seq_w > o.cap);
      out.weight = seq_w.clamp_max(o.cap).expand_as(w).contiguous();
      break;
    }
    case OffPolicyCorrection::kMaskToken:
      changed = real & ((w < o.mask_low) | (w > o.mask_high));
      out.mask = m * (~changed).to(dtype);
      break;
    case OffPolicyCorrection::kMaskSequence: {
      const auto n = m.sum(1, /*keepdim=*/true).clamp_min(1);
      const auto geo = torch::exp(log_w.sum(1, /*keepdim=*/true) / n);  // [B, 1]
      changed = real & ((geo < o.mask_low) | (geo > o.mask_high));
      out.mask = m * (~changed).to(dtype);
      break;
    }
    default:
      PRLM_CHECK(false);
  }
  out.capped = changed.sum().item<int64_t>();
  return out;
}

}  // namespace prlm::objective
