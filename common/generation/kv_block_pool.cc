#include "common/generation/kv_block_pool.h"

#include "common/util/check.h"

namespace prlm::generation {

KvBlockPool::KvBlockPool(int64_t layers, int64_t num_blocks, int64_t block_size, int64_t kv_heads, int64_t head_dim,
                         torch::TensorOptions options)
    : block_size_(block_size), refs_(num_blocks, 0) {
  PRLM_CHECK(num_blocks >= 1 && block_size >= 1);
  // Uninitialised: a position is read only after it has been written.
  for (int64_t l = 0; l < layers; ++l) {
    keys_.push_back(torch::empty({num_blocks, kv_heads, head_dim, block_size}, options.requires_grad(false)));
    values_.push_back(torch::empty({num_blocks, kv_heads, block_size, head_dim}, options.requires_grad(false)));
  }
  for (int64_t b = num_blocks - 1; b >= 0; --b) free_.push_back(static_cast<int32_t>(b));
}

int64_t KvBlockPool::BytesPerToken() const {
  if (keys_.empty()) return 0;
  const auto& k = keys_[0];
  return 2 * static_cast<int64_t>(keys_.size()) * k.size(1) * k.size(2) * static_cast<int64_t>(k.element_size());
}

int32_t KvBlockPool::Allocate() {
  PRLM_CHECK_MSG(!free_.empty(), "KV block pool exhausted (the engine should have waited for blocks)");
  const int32_t b = free_.back();
  free_.pop_back();
  refs_[b] = 1;
  return b;
}

void KvBlockPool::Retain(int32_t block) {
  PRLM_CHECK(refs_[block] > 0);
  ++refs_[block];
}

void KvBlockPool::Release(int32_t block) {
  PRLM_CHECK_MSG(refs_[block] > 0, "KV block " << block << " released more often than taken");
  if (--refs_[block] == 0) free_.push_back(block);
}

int32_t KvBlockPool::CopyOnWrite(int32_t block) {
  const int32_t copy = Allocate();
  for (size_t l = 0; l < keys_.size(); ++l) {
    keys_[l][copy].copy_(keys_[l][block]);
    values_[l][copy].copy_(values_[l][block]);
  }
  Release(block);
  return copy;
}

}  // namespace prlm::generation
