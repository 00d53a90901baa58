// Off-policy correction of the GRPO policy term (grpo.off_policy): for tokens
// drawn by a policy other than the one the update starts from (a weight
// version k steps old, or the same version through the sampler's numerics).
//
// Per completion token, with
//   behav_t = the sampler's log-prob (the rollout worker's, as it drew t)
//   prox_t  = the learner's log-prob before this step's update (recomputed;
//             on-policy with one epoch, the current log-prob, detached)
//   w_t     = exp(prox_t - behav_t), the importance weight,
// the methods (weights are constants, no gradient flows through them):
//   decoupled     AReaL's decoupled PPO (Fu et al. 2025): the PPO ratio is
//                 taken against prox (the loss already does: old = prox) and
//                 the token's policy term is multiplied by w_t; a token with
//                 w_t > cap gets weight 0 (AReaL's behav_imp_weight_cap: the
//                 token is filtered, still counted in the denominator).
//                 Cap 5 (AReaL's example configs).
//   tis_token     truncated importance sampling (Yao et al. 2025; verl's
//                 rollout_is=token): the term times min(w_t, cap). Cap 2
//                 (verl's rollout_is_threshold).
//   tis_sequence  verl's rollout_is=sequence: every token of a sequence
//                 times min(prod_t w_t, cap). Cap 2.
//   mask_token    IcePop / verl's rollout_rs=token: tokens with w_t outside
//                 [mask_low, mask_high] leave the loss and its denominator.
//   mask_sequence verl's rollout_rs=geometric (TRL's sequence mask): a
//                 sequence whose geometric mean exp(mean_t log w_t) is
//                 outside [mask_low, mask_high] leaves the loss.
//                 [0.5, 5] (verl's IcePop preset).
// `capped` counts the tokens whose weight the cap or the interval changed
// (rollout_corr/capped_fraction = capped / tokens).
// Thread-safety: pure functions.
#pragma once

#include <torch/types.h>

#include <cstdint>

#include "common/config/train_config.h"

namespace prlm::objective {

struct OffPolicyOptions {
  config::OffPolicyCorrection method = config::OffPolicyCorrection::kNone;  // never kAuto here
  double cap = 0;                                                           // decoupled, tis_*
  double mask_low = 0.5, mask_high = 5.0;                                   // mask_*
};

// The run's correction: grpo.off_policy with auto resolved (decoupled when
// samples may be stale, grpo.max_staleness >= 1, and the old log-probs are
// recomputed; else none) and grpo.is_cap's 0 replaced by the method's cap.
OffPolicyOptions OffPolicyOptionsOf(const config::GrpoConfig& grpo);

struct OffPolicyWeights {
  torch::Tensor weight;  // [B, T] multiplies the policy term (undefined: 1)
  torch::Tensor mask;    // [B, T] the loss mask after the mask_* methods
  int64_t tokens = 0;    // completion tokens (mask = 1 before)
  int64_t capped = 0;    // of them, whose weight the cap or the interval changed
};

// REQUIRES: prox, behav and mask share one [B, T] shape; options.method is
// not kNone or kAuto.
OffPolicyWeights ComputeOffPolicyWeights(const torch::Tensor& prox_logprobs, const torch::Tensor& behav_logprobs,
                                         const torch::Tensor& mask, const OffPolicyOptions& options);

}  // namespace prlm::objective
