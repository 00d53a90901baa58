// The GRPO policy loss over completion tokens, with the published formulas
// (TRL's GRPOTrainer at the commit PrLM pinned, and verl's options):
//
//   ratio  = exp(logp - old_logp)
//   pg     = -min(ratio * A, clip(ratio, 1 - eps_low, 1 + eps_high) * A)
//   dual-clip (verl, clip_ratio_c = c > 1): for A < 0, pg = min(pg, -A * c)
//   kl     k3 = exp(ref - logp) - (ref - logp) - 1   (the default)
//          k1 = logp - ref;  k2 = (logp - ref)^2 / 2
//   token loss = pg + beta * kl
//
// Aggregation over the micro-batch's completion tokens (mask = 1):
//   kTokenMean    sum(loss * mask) / sum(mask)              (PrLM / TRL default)
//   kSequenceMean mean over sequences of each one's token mean
//   kConstant     sum(loss * mask) / (B * max_completion_length)  (Dr. GRPO)
//
// All inputs are [B, T] (advantages [B]); logp carries the graph, old_logp and
// ref_logp are constants. Statistics are the verl-named metrics, over masked
// tokens. Thread-safety: pure functions.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "common/config/enums.h"

namespace prlm::objective {

struct GrpoLossOptions {
  double clip_eps_low = 0.2;
  double clip_eps_high = 0.2;
  double dual_clip_c = 0;  // 0: off; else > 1 (verl uses 3)
  double beta = 0.04;      // 0: no KL term (ref_logp may be undefined)
  config::KlEstimator kl = config::KlEstimator::kK3;
  config::LossAggregation aggregation = config::LossAggregation::kTokenMean;
  int64_t max_completion_length = 0;  // kConstant's normalizer (REQUIRED > 0 there)
};

struct GrpoLoss {
  torch::Tensor loss;        // scalar, differentiable
  double pg_loss = 0;        // the policy term, aggregated like the loss
  double kl = 0;             // mean KL estimate per token (actor/kl_loss)
  double ppo_kl = 0;         // mean (old_logp - logp) per token (actor/ppo_kl)
  double clipfrac = 0;       // share of tokens whose ratio was clipped (actor/pg_clipfrac)
  double dual_clipfrac = 0;  // share of tokens the dual clip bounded
  int64_t tokens = 0;
};

// pg_weight [B, T] (a constant; undefined: 1) multiplies each token's policy
// term after the clips: an off-policy correction's importance weight
// (off_policy_correction.h). REQUIRES (PRLM_CHECK): shapes agree; mask is 0/1.
GrpoLoss ComputeGrpoLoss(const torch::Tensor& logp, const torch::Tensor& old_logp, const torch::Tensor& ref_logp,
                         const torch::Tensor& advantages, const torch::Tensor& mask, const GrpoLossOptions& options,
                         const torch::Tensor& pg_weight = {});

// The completion mask [B, T] of right-padded completions: 1 up to and
// including the first stop token (EOS), 0 after it and on padding
// (lengths[b] real tokens in row b).
torch::Tensor CompletionMask(const torch::Tensor& tokens, const std::vector<int64_t>& lengths,
                             const std::vector<int32_t>& stop_token_ids);

}  // namespace prlm::objective
