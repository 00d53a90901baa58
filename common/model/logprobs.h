// Per-token log-probs of given sequences through CausalLM::Forward(): what
// the learner's GRPO loss and the reference model score.
// Thread-safety: one call at a time per model.
#pragma once

#include <cstdint>
#include <vector>

#include "common/model/causal_lm.h"

namespace prlm::model {

// log p(ids[b, t] | ids[b, <t]) for t = 1..T-1 of left-padded rows: [B, T-1],
// zero where the target token is padding. logits are divided by `temperature`.
torch::Tensor TokenLogprobs(CausalLM& model, const torch::Tensor& ids, const torch::Tensor& mask,
                            double temperature = 1.0);

// Convenience over TokenLogprobs for unpadded sequences: row i gets
// seqs[i].size() - 1 values.
std::vector<std::vector<float>> SequenceLogprobs(CausalLM& model, const std::vector<std::vector<int32_t>>& seqs,
                                                 double temperature = 1.0);

}  // namespace prlm::model
