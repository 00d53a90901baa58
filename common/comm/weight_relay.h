// Weights for a changing set of rollout workers, over the services' TCP
// protocol (docs/elastic.md): learner 0 publishes each new version once; a
// worker fetches it chunk by chunk from the gateway's choice of source
// (learner 0, or the worker before it in the relay chain) and serves every
// chunk it holds to the worker after it, while the rest still arrives. So
// learner 0 sends one copy whatever the number of workers, and the chain is
// pipelined: the last worker is about (size / bandwidth + N x chunk time)
// behind the first, not N x size.
//
// A version is the trainable tensors packed back to back in their own dtype
// (row-major, the order of TrainableParameters()), cut into fixed-size
// chunks. A store keeps the `keep` versions it opened last: two by default (a
// one-step-off job still generates with the older one while the newer is
// published), grpo.max_staleness + 1 for a job that posts k steps ahead;
// older requests fail, naming what the store holds.
//
// Thread-safety: WeightStore is thread-safe (a server's threads read while
// a fetch writes). FetchWeights: one fetch per store at a time.
#pragma once

#include <torch/torch.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "common/net/rpc_client.h"
#include "common/net/rpc_server.h"
#include "proto/rollout_gateway.pb.h"

namespace prlm::comm {

class WeightStore {
 public:
  static constexpr size_t kDefaultChunkBytes = size_t{4} << 20;
  // REQUIRES: chunk_bytes > 0, keep >= 1.
  explicit WeightStore(size_t chunk_bytes = kDefaultChunkBytes, size_t keep = 2);

  // Learner 0: `tensors` as version `version`, complete at once.
  void Publish(int64_t version, const std::vector<torch::Tensor>& tensors);
  // The same from a version's packed bytes (Bytes(), kept in a checkpoint
  // for the steps still out at a preemption).
  void PublishBytes(int64_t version, std::string bytes);
  // A complete version's packed bytes. Throws util::Error when `version` is
  // not complete here.
  std::string Bytes(int64_t version) const;

  // Chunk `index` of `version`, waiting up to `wait` for it to arrive (or
  // for the version to start arriving). Throws util::Error when the version
  // is older than those kept, the index is out of range, or the wait ends.
  // `base` >= 0 (rollout.delta_sync): the asker holds version `base` whole;
  // when this store does too and the chunk's delta against it is smaller,
  // the delta goes instead (weight_delta.h).
  proto::WeightChunk Chunk(int64_t version, uint32_t index, std::chrono::milliseconds wait, int64_t base = -1) const;

  // A fetched chunk (this store's own fetch: also of an older version again,
  // for a re-issued item). The first of a version opens it (and forgets the
  // least recently opened past `keep`); a chunk whose version or sizes
  // disagree with the first is refused (util::Error naming both), and so is
  // one whose bytes (a delta applied to its base's) fail its CRC-32C.
  void Put(const proto::WeightChunk& chunk);

  // The first chunk of `version` not held yet (count when all are; 0 when
  // the version is unknown).
  uint32_t FirstMissing(int64_t version) const;
  bool Complete(int64_t version) const;

  // Copies a complete `version` into `tensors`. Throws util::Error when the
  // sizes differ (naming both: a different model or LoRA setting).
  void CopyInto(int64_t version, const std::vector<torch::Tensor>& tensors) const;

  uint64_t bytes_served() const;  // chunk payload bytes handed out by Chunk()

 private:
  struct Version {
    std::string bytes;
    std::vector<bool> have;
    uint32_t held = 0;
    uint64_t opened = 0;  // when Open made it (the least recently opened goes first)
  };
  Version& Open(int64_t version, uint64_t total_bytes);  // REQUIRES: mu_ held
  uint32_t CountOf(uint64_t total_bytes) const;

  const size_t chunk_bytes_, keep_;
  mutable std::mutex mu_;
  mutable std::condition_variable arrived_;
  std::map<int64_t, Version> versions_;  // the keep_ most recently opened
  uint64_t opened_ = 0;
  mutable uint64_t bytes_served_ = 0;
};

// Answers WeightChunkRequest from `store` (waiting up to `wait` for chunks
// still on their way). REQUIRES: before server.Run(); store outlives server.
void ServeWeights(net::RpcServer& server, const WeightStore& store, std::chrono::milliseconds wait);

// Fetches `version` from `source` into `store`, from its first missing chunk
// (so a fetch cut off by a lost source resumes elsewhere); as deltas against
// version `base` while `store` holds it whole (base >= 0:
// rollout.delta_sync). Returns the bytes fetched (deltas as sent). Throws
// net::RpcError / util::Error naming the source.
uint64_t FetchWeights(net::RpcClient& source, int64_t version, WeightStore* store, std::chrono::milliseconds timeout,
                      int64_t base = -1);

}  // namespace prlm::comm
