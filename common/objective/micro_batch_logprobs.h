// What an objective's Loss() sees of one micro-batch: the policy's per-token
// log-probs (with the graph) and entropy, the log-probs that stay fixed over
// the step, the advantages, and the completion mask. All [B, T] but
// advantages [B]. The learner fills it (learner/policy_learner.cc).
// Thread-safety: a plain value.
#pragma once

#include <torch/torch.h>

namespace prlm::objective {

struct MicroBatchLogprobs {
  torch::Tensor logprobs;            // current policy, differentiable
  torch::Tensor old_logprobs;        // before the update; undefined when on-policy (old = current, detached)
  torch::Tensor behaviour_logprobs;  // the sampler's; with an off-policy correction only
  torch::Tensor ref_logprobs;        // the reference's; undefined without a KL term
  torch::Tensor advantages;          // [B]
  torch::Tensor mask;                // completion tokens through the first EOS
};

}  // namespace prlm::objective
