// How far the sampler's log-probs are from the learner's for the same tokens:
// the training-inference mismatch, on every step (also on-policy, where the
// sampler and the learner are still different code paths: the generation
// engine's paged attention vs the learner's forward, often another dtype).
//
// Per completion token, r = log pi_learner - log pi_sampler (the learner's
// before this step's update; the sampler's at the version and temperature
// that drew the token) and w = exp(r). Over a step's tokens (verl's
// rollout_corr definitions):
//   kl             mean(-r): the direct (k1) estimate of KL(sampler || learner)
//   k3_kl          mean(w - 1 - r): Schulman's k3 estimate, never negative
//   ess            mean(w)^2 / mean(w^2): the effective sample size of the
//                  importance weights as a fraction of the tokens (1 = none lost)
//   probs_diff_*   |exp(log pi_learner) - exp(log pi_sampler)|, mean and max
// A learner adds its micro-batches into sums (AddRolloutMismatch); the
// coordinator adds the learners (MergeRolloutMismatch) and summarises.
// Thread-safety: pure functions.
#pragma once

#include <torch/types.h>

#include "common/monitor/step_metrics.h"
#include "proto/train.pb.h"

namespace prlm::objective {

// REQUIRES: the three tensors have one shape ([B, C]); mask is 1 on real
// completion tokens.
void AddRolloutMismatch(const torch::Tensor& learner_logprobs, const torch::Tensor& sampler_logprobs,
                        const torch::Tensor& mask, proto::RolloutMismatch* into);
void MergeRolloutMismatch(const proto::RolloutMismatch& from, proto::RolloutMismatch* into);
// REQUIRES: sums.tokens() > 0.
monitor::RolloutCorrMetrics SummarizeRolloutMismatch(const proto::RolloutMismatch& sums);

}  // namespace prlm::objective
