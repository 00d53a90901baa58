// The client of the retrieval tier: routes each request to the shard that
// holds its user (sharding.h), sends one batch per shard in parallel, and
// returns the results in request order.
//
// Endpoints are given in shard order (endpoint i serves shard i of N).
// VerifyShards() asks each server which shard it is and throws if the list
// is in the wrong order or of the wrong length, so a misconfigured job fails
// at start instead of returning other users' profiles.
//
// Errors: per-request problems (unknown user, unknown retriever) come back in
// RetrieveResult.error; transport failures (a shard slow or unreachable) are
// retried per shard batch under the `retry` policy (net/retry.h; one attempt
// by default) and then throw net::RpcError naming the shard.
//
// Thread-safety: Retrieve() may be called from many threads at once.
#pragma once

#include <chrono>
#include <memory>
#include <vector>

#include "common/net/retry.h"
#include "common/net/rpc_client.h"
#include "common/retrieval/profile_retriever.h"
#include "proto/retrieval.pb.h"

namespace prlm::retrieval {

class RetrievalClient : public ProfileRetriever {
 public:
  RetrievalClient(std::vector<net::Endpoint> shards, net::ClientOptions options = {},
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(5000), net::RetryPolicy retry = {1});

  // Throws util::Error naming the endpoint that disagrees.
  std::vector<proto::ShardInfo> VerifyShards();

  std::vector<proto::RetrieveResult> Retrieve(const std::vector<proto::RetrieveRequest>& requests) override;
  proto::RetrieveResult RetrieveOne(const proto::RetrieveRequest& request);

  size_t num_shards() const { return clients_.size(); }
  const net::RetryCounters& retry_counters() const { return counters_; }

 private:
  std::vector<std::unique_ptr<net::RpcClient>> clients_;
  std::chrono::milliseconds timeout_;
  net::RetryPolicy retry_;
  net::RetryCounters counters_;
};

}  // namespace prlm::retrieval
