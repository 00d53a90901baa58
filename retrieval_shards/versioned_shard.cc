#include "retrieval_shards/versioned_shard.h"

#include <algorithm>
#include <chrono>
#include <new>

#include "common/util/check.h"

namespace prlm::retrieval_shards {

VersionedShard::VersionedShard(LoadedShard initial) {
  PRLM_CHECK(initial.index != nullptr);
  current_ = std::make_shared<const LoadedShard>(std::move(initial));
}

VersionedShard::Snapshot VersionedShard::Current() const {
  std::lock_guard<std::mutex> lock(mu_);
  return {current_, version_};
}

RefreshResult VersionedShard::Refresh(const std::string& encoder_dir) {
  const auto start = std::chrono::steady_clock::now();
  RefreshResult result;
  if (refreshing_.exchange(true)) {
    result.version = Current().version;
    result.error = "a refresh is already running";
    return result;
  }
  const Snapshot old = Current();
  try {
    // 1. The new encoder, with the current encoder's pooling and length.
    auto next = std::make_shared<LoadedShard>();
    next->manifest = old.shard->manifest;
    DenseEncoderOptions encoder = old.shard->encoder ? old.shard->encoder->options() : DenseEncoderOptions{};
    encoder.model_dir = encoder_dir;
    next->manifest.encoder = encoder;
    next->encoder = std::make_unique<DenseEncoder>(encoder);
    // 2. Every user's items re-embedded, beside the serving index.
    IndexOptions options = old.shard->index->options();
    if (!options.Has("dense")) options.built.push_back("dense");
    next->manifest.options = options;
    const ShardIndex& serving = *old.shard->index;
    next->index = ShardIndex::Build(serving.task(), serving.Profiles(), options, next->encoder.get());
    next->index->SetShard(serving.shard(), serving.num_shards());
    next->manifest.dense_dim = next->index->dense_dim();
    // 3. The swap.
    std::lock_guard<std::mutex> lock(mu_);
    current_ = std::move(next);
    result.version = ++version_;
    result.ok = true;
  } catch (const std::bad_alloc&) {
    result.error = "out of memory while re-embedding with " + encoder_dir;
  } catch (const std::exception& e) {
    result.error = e.what();
  }
  if (!result.ok) result.version = Current().version;
  result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  refreshing_ = false;
  return result;
}

}  // namespace prlm::retrieval_shards
