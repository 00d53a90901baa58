// Message types of the retrieval tier (frame.h numbering: 16-31) and its
// request limits. Payloads are the proto/retrieval.proto messages named.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prlm::retrieval {

enum MessageType : uint16_t {
  kRetrieveBatch = 16,       // RetrieveBatch -> RetrieveBatchReply
  kRetrieveBatchReply = 17,
  kShardInfoRequest = 18,    // ShardInfoRequest -> ShardInfo
  kShardInfo = 19,
};

constexpr size_t kMaxBatchRequests = 4096;
constexpr uint32_t kMaxK = 1000;

// Retrievers a shard can serve; the first three need a built index.
inline const std::vector<std::string>& RetrieverNames() {
  static const std::vector<std::string> names = {"bm25", "dense", "dense_hnsw", "recency", "random", "none"};
  return names;
}

}  // namespace prlm::retrieval
