// A retrieval shard whose index can be replaced while it serves: ROPG trains
// a new encoder, and the shard re-embeds its users' profiles with it.
//
// Versions: the index a shard starts with is version 1; every successful
// Refresh adds 1. A request works on one snapshot (Current()), so it is
// answered entirely by the old or entirely by the new version, and its reply
// says which (RetrieveResult.index_version). A refresh builds the new index
// beside the old one; the old one keeps serving until the new one is
// complete, and the swap is one pointer exchange under a mutex. A refresh
// that fails (encoder weights that do not load, an encoder of another shape,
// out of memory, any error while embedding) leaves the old version serving
// and says why; there is never half an index.
//
// Thread-safety: Current() from any thread; one Refresh at a time (a second
// concurrent call fails at once, saying one is running).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "retrieval_shards/index_dir.h"

namespace prlm::retrieval_shards {

struct RefreshResult {
  bool ok = false;
  uint64_t version = 0;  // serving after the call
  std::string error;
  double seconds = 0;
};

class VersionedShard {
 public:
  struct Snapshot {
    std::shared_ptr<const LoadedShard> shard;
    uint64_t version = 0;
  };

  // REQUIRES: initial.index non-null.
  explicit VersionedShard(LoadedShard initial);

  Snapshot Current() const;
  // Re-embeds every user's items with the BERT encoder in `encoder_dir`
  // (pooling and length as the current encoder's, or the defaults) and
  // serves the result as the next version, with the dense retriever built
  // (and whatever else the current index has). Never throws.
  RefreshResult Refresh(const std::string& encoder_dir);

 private:
  mutable std::mutex mu_;  // guards current_, version_
  std::shared_ptr<const LoadedShard> current_;
  uint64_t version_ = 1;
  std::atomic<bool> refreshing_{false};
};

}  // namespace prlm::retrieval_shards
