// What a consumer of profiles (rollout workers, make-rm-pairs, eval) needs from
// the retrieval tier: a batch of requests in, one result per request out, in
// order. RetrievalClient answers over TCP from the shard servers;
// retrieval_shards' LocalRetriever answers in process from the same indexes,
// so both paths run the same retrieval code.
// Thread-safety: implementations allow concurrent Retrieve() calls.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "proto/retrieval.pb.h"

namespace prlm::retrieval {

class ProfileRetriever {
 public:
  virtual ~ProfileRetriever() = default;
  // Per-request problems come back in RetrieveResult.error.
  virtual std::vector<proto::RetrieveResult> Retrieve(const std::vector<proto::RetrieveRequest>& requests) = 0;
};

// The request for a user's top-k items by `retriever` (a protocol.h name).
inline proto::RetrieveRequest RetrieveRequestFor(const std::string& user_id, const std::string& query, uint32_t k,
                                                 const std::string& retriever) {
  proto::RetrieveRequest r;
  r.set_user_id(user_id);
  r.set_query(query);
  r.set_k(k);
  r.set_retriever(retriever);
  return r;
}

}  // namespace prlm::retrieval
