// The paged KV cache's memory: one pool of fixed-size blocks per layer, for
// keys and for values, each block holding `block_size` token positions of
// every KV head. A sequence owns a block table (block ids in position order);
// position p of a sequence lives in block table[p / block_size] at offset
// p % block_size. Blocks are reference-counted so that the G samples of a
// prompt share the prompt's blocks; a shared block is copied before a sample
// writes into it (copy-on-write, CopyBlock()).
//
// Layout per layer: keys [num_blocks, kv_heads, head_dim, block_size] (each
// block transposed, so the attention kernel's query-key products run along
// the block's positions, a vector at a time) and values [num_blocks,
// kv_heads, block_size, head_dim].
//
// Thread-compatible: the engine's stepping thread alone allocates and frees.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace prlm::generation {

class KvBlockPool {
 public:
  // REQUIRES: num_blocks >= 1, block_size >= 1.
  KvBlockPool(int64_t layers, int64_t num_blocks, int64_t block_size, int64_t kv_heads, int64_t head_dim,
              torch::TensorOptions options);

  int64_t block_size() const { return block_size_; }
  int64_t num_blocks() const { return static_cast<int64_t>(refs_.size()); }
  int64_t free_blocks() const { return static_cast<int64_t>(free_.size()); }
  // Blocks needed to hold `tokens` positions.
  int64_t BlocksFor(int64_t tokens) const { return (tokens + block_size_ - 1) / block_size_; }
  // Bytes of keys and values per token position, all layers.
  int64_t BytesPerToken() const;

  // A fresh block with reference count 1. REQUIRES: free_blocks() > 0.
  int32_t Allocate();
  void Retain(int32_t block);
  // Drops one reference; the block is free again at zero.
  void Release(int32_t block);
  int32_t RefCount(int32_t block) const { return refs_[block]; }
  // A private copy of `block` (all layers) with reference count 1; drops one
  // reference to `block`. REQUIRES: free_blocks() > 0.
  int32_t CopyOnWrite(int32_t block);

  torch::Tensor& keys(int64_t layer) { return keys_[layer]; }
  torch::Tensor& values(int64_t layer) { return values_[layer]; }

 private:
  int64_t block_size_;
  std::vector<torch::Tensor> keys_, values_;
  std::vector<int32_t> refs_;
  std::vector<int32_t> free_;  // a stack: the most recently freed block is reused first
};

}  // namespace prlm::generation
