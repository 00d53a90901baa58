// The retrieval tier's request limits and retriever names.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/net/message_types.h"

namespace prlm::retrieval {

// Its message types (16-31) are in common/net/message_types.h.
using net::kRefreshIndexReply;
using net::kRefreshIndexRequest;
using net::kRetrieveBatch;
using net::kRetrieveBatchReply;
using net::kShardInfo;
using net::kShardInfoRequest;

// Sizes a client controls (docs/security.md lists every limit).
constexpr size_t kMaxBatchRequests = 4096;
constexpr uint32_t kMaxK = 1000;
constexpr size_t kMaxQueryBytes = 64 * 1024;
constexpr size_t kMaxUserIdBytes = 1024;

// Retrievers a shard can serve; the first three need a built index.
inline const std::vector<std::string>& RetrieverNames() {
  static const std::vector<std::string> names = {"bm25", "dense", "dense_hnsw", "recency", "random", "none"};
  return names;
}

}  // namespace prlm::retrieval
