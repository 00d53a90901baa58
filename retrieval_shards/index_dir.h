// The on-disk layout of a sharded retrieval index (`prlm build-index`):
//
//   DIR/manifest.json        task, shard count, routing hash, retrievers
//                            built, BM25 / HNSW parameters, the encoder
//   DIR/shard-00000/...      each shard's files (ShardIndex::Save)
//
// A shard server reads the manifest and only its own shard's directory.
// Thread-safety: functions are independent; no shared state.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "retrieval_shards/dense_encoder.h"
#include "retrieval_shards/shard_index.h"

namespace prlm::retrieval_shards {

struct IndexManifest {
  std::string task;
  uint32_t num_shards = 1;
  IndexOptions options;
  DenseEncoderOptions encoder;  // model_dir empty when no dense retriever
  int dense_dim = 0;
  std::vector<uint64_t> users_per_shard, items_per_shard;
};

std::string ShardDir(const std::string& index_dir, uint32_t shard);
IndexManifest ReadManifest(const std::string& index_dir);
void WriteManifest(const std::string& index_dir, const IndexManifest& manifest);

// Partitions the users over manifest.num_shards and builds and saves every
// shard. Fills the manifest's counts and dense_dim. `log` gets progress lines.
void BuildIndex(const std::vector<const data::Dataset*>& datasets, IndexManifest& manifest, const std::string& out_dir,
                const std::function<void(const std::string&)>& log);

// A loaded shard with the encoder it needs (none unless dense was built or
// `encoder_dir` overrides).
struct LoadedShard {
  IndexManifest manifest;
  std::unique_ptr<DenseEncoder> encoder;
  std::unique_ptr<ShardIndex> index;
};
LoadedShard LoadShard(const std::string& index_dir, uint32_t shard, const std::string& encoder_dir = "");

}  // namespace prlm::retrieval_shards
