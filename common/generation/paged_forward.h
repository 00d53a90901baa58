// One forward pass of a decoder over an engine step's flattened tokens,
// reading and writing the paged KV cache: the same layers and weights as
// CausalLM::Forward, with attention through PagedAttention(). Rows are
// tokens (no padding, no [B, T] batch): the linear layers see one
// [N, hidden] matrix however the tokens divide between sequences.
//
// Two paths, one result up to rounding:
//  - fp32 on CPU: the decoder's matrices packed once (packed_matmul.h): q, k
//    and v as one matrix, gate and up as one with SwiGLU applied as their
//    product is stored, o and down adding into the residual stream; RMSNorm
//    and RoPE as plain loops; the LM head packed too. At decode sizes this spends its time
//    multiplying instead of repacking weights and dispatching small ops.
//  - anywhere else (CUDA, bf16, an active LoRA adapter): the model's own
//    modules.
// The packed copy is made on the first packed Run() and renewed when a
// weight is written through torch (UpdateWeights copies in place): writes
// that bypass torch, such as a weight broadcast received into the
// parameters' storage, must not happen while a PagedForward is in use.
//
// Thread-compatible: one Run() at a time per model and pool.
#pragma once

#include <torch/torch.h>

#include <vector>

#include "common/generation/kv_block_pool.h"
#include "common/generation/packed_matmul.h"
#include "common/generation/paged_attention.h"
#include "common/model/causal_lm.h"

namespace prlm::generation {

class PagedForward {
 public:
  // allow_packed = false keeps to the model's modules (the reference the
  // packed path is tested against).
  explicit PagedForward(model::CausalLM model, bool allow_packed = true);

  // Final hidden states [N, hidden] of `ids` [N] (int64, on the model's
  // device) at batch.positions. REQUIRES: block tables cover every position,
  // and the blocks written are not shared.
  torch::Tensor Run(const torch::Tensor& ids, const AttentionBatch& batch, KvBlockPool& pool);

  // Logits [N, vocab] of hidden states from Run(): the model's LM head,
  // packed like the layers on the packed path.
  torch::Tensor Logits(const torch::Tensor& hidden);

  // Whether Run() takes the packed path now.
  bool packed() const;

 private:
  struct PackedLayer {
    PackedMatrix qkv, o, gate_up, down;
  };
  torch::Tensor RunModules(const torch::Tensor& ids, const AttentionBatch& batch, KvBlockPool& pool);
  torch::Tensor RunPacked(const torch::Tensor& ids, const AttentionBatch& batch, KvBlockPool& pool);
  void PackOrRefresh();

  model::CausalLM model_;
  bool allow_packed_;
  std::vector<PackedLayer> layers_;  // empty until the packed path first runs
  PackedMatrix lm_head_;
};

}  // namespace prlm::generation
