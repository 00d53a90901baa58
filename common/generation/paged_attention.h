// Attention of one engine step's tokens over the paged KV cache.
//
// A step carries N tokens from several sequences (a decoding sequence brings
// one token, a prefilling one a chunk of its prompt), flattened into rows.
// For each layer, PagedAttention() first writes the step's keys and values
// into the pool at each token's position (through its sequence's block
// table), then lets each token attend causally to its own sequence's keys at
// positions 0..its position. Tokens of one sequence must be consecutive rows.
//
// On CPU a kernel reads the blocks in place (no gather), one (token, KV head)
// pair per task over torch's intra-op threads, in fp32 arithmetic whatever
// the storage dtype. Elsewhere (CUDA) each sequence's blocks are gathered and
// attended with matmul/softmax. A token's result depends only on its own
// sequence's keys: never on what else is in the step.
//
// Thread-compatible: one step at a time.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

#include "common/generation/kv_block_pool.h"

namespace prlm::generation {

// Where each of a step's tokens reads and writes. Built once per step,
// shared by every layer.
struct AttentionBatch {
  struct Sequence {
    int64_t first_token = 0;  // row of its first token in the step
    int64_t tokens = 0;       // consecutive rows
    std::vector<int32_t> blocks;  // block table covering every position it reads or writes
  };
  std::vector<Sequence> sequences;
  std::vector<int32_t> positions;  // per token row: its position in its sequence
  std::vector<int32_t> sequence_of;  // per token row: index into `sequences`
  // Appends a sequence's `count` tokens at positions [first_position, +count).
  void Add(const std::vector<int32_t>& blocks, int32_t first_position, int64_t count);
  int64_t tokens() const { return static_cast<int64_t>(positions.size()); }
};

// q [N, heads, head_dim], k and v [N, kv_heads, head_dim] (RoPE applied), in
// the pool's dtype. Returns [N, heads * head_dim].
// REQUIRES: heads a multiple of kv_heads; every block table covers its
// sequence's positions; blocks written here are not shared (copy-on-write
// done by the caller).
torch::Tensor PagedAttention(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                             KvBlockPool& pool, int64_t layer, const AttentionBatch& batch);

// The same through gathered blocks and torch ops, on any device: the path
// for CUDA, and the reference the CPU kernel is tested against.
torch::Tensor PagedAttentionGathered(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     KvBlockPool& pool, int64_t layer, const AttentionBatch& batch);

}  // namespace prlm::generation
