// One forward pass of a decoder over an engine step's flattened tokens,
// reading and writing the paged KV cache: the same layers, weights and
// arithmetic as CausalLM::Forward, with attention through PagedAttention().
// Rows are tokens (no padding, no [B, T] batch): the linear layers see one
// [N, hidden] matrix however the tokens divide between sequences.
// Thread-compatible: one step at a time per model and pool.
#pragma once

#include <torch/torch.h>

#include "common/generation/kv_block_pool.h"
#include "common/generation/paged_attention.h"
#include "common/model/causal_lm.h"

namespace prlm::generation {

// Final hidden states [N, hidden] of `ids` [N] (int64, on the model's device)
// at batch.positions. REQUIRES: block tables cover every position, and the
// blocks written are not shared.
torch::Tensor PagedForward(model::CausalLM& model, const torch::Tensor& ids, const AttentionBatch& batch,
                           KvBlockPool& pool);

}  // namespace prlm::generation
