// The client of the retrieval tier: routes each request to the shard that
// holds its user (sharding.h), sends one batch per shard in parallel, and
// returns the results in request order.
//
// Endpoints are given in shard order, replica by replica: with N shards and
// R replicas of each (retrieval.replicas), endpoint r * N + s serves shard s.
// VerifyShards() asks each server which shard it is and throws if the list
// is in the wrong order or of the wrong length, so a misconfigured job fails
// at start instead of returning other users' profiles.
//
// Replicas (net/failover_group.h): a shard's calls go to replica
// `preferred` mod R; one that cannot be reached or does not answer in time
// moves that shard's later calls to the next replica (logged, counted,
// named by TakeFailedServers). Replicas hold the same users' profiles, so
// the results do not depend on which one answered.
//
// Errors: per-request problems (unknown user, unknown retriever) come back in
// RetrieveResult.error; transport failures (a shard slow or unreachable) are
// retried per shard batch under the `retry` policy (net/retry.h; one attempt
// by default, and at least one per replica) and then throw net::RpcError
// naming the shard.
//
// Thread-safety: Retrieve() may be called from many threads at once.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include "common/net/failover_group.h"
#include "common/net/retry.h"
#include "common/net/rpc_client.h"
#include "common/retrieval/profile_retriever.h"
#include "proto/retrieval.pb.h"

namespace prlm::retrieval {

class RetrievalClient : public ProfileRetriever {
 public:
  // REQUIRES: replicas >= 1 divides endpoints.size().
  RetrievalClient(const std::vector<net::Endpoint>& endpoints, net::ClientOptions options = {},
                  std::chrono::milliseconds timeout = std::chrono::milliseconds(5000), net::RetryPolicy retry = {1},
                  size_t replicas = 1, size_t preferred = 0);

  // Throws util::Error naming the endpoint that disagrees.
  std::vector<proto::ShardInfo> VerifyShards();

  std::vector<proto::RetrieveResult> Retrieve(const std::vector<proto::RetrieveRequest>& requests) override;
  proto::RetrieveResult RetrieveOne(const proto::RetrieveRequest& request);

  size_t num_shards() const { return shards_.size(); }
  const net::RetryCounters& retry_counters() const { return counters_; }
  // The replicas (host:port) that calls moved away from since the last call.
  std::vector<std::string> TakeFailedServers();

 private:
  std::vector<std::unique_ptr<net::FailoverGroup>> shards_;  // a shard's replicas
  std::chrono::milliseconds timeout_;
  net::RetryPolicy retry_;
  net::RetryCounters counters_;
};

}  // namespace prlm::retrieval
