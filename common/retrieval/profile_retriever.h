// What a consumer of profiles (rollout workers, make-rm-pairs, eval) needs from
// the retrieval tier: a batch of requests in, one result per request out, in
// order. RetrievalClient answers over TCP from the shard servers;
// retrieval_shards' LocalRetriever answers in process from the same indexes,
// so both paths run the same retrieval code.
// Thread-safety: implementations allow concurrent Retrieve() calls.
#pragma once

#include <vector>

#include "proto/retrieval.pb.h"

namespace prlm::retrieval {

class ProfileRetriever {
 public:
  virtual ~ProfileRetriever() = default;
  // Per-request problems come back in RetrieveResult.error.
  virtual std::vector<proto::RetrieveResult> Retrieve(const std::vector<proto::RetrieveRequest>& requests) = 0;
};

}  // namespace prlm::retrieval
