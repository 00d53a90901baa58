#include "common/retrieval/retrieval_client.h"

#include <algorithm>
#include <future>

#include "common/retrieval/protocol.h"
#include "common/retrieval/sharding.h"
#include "common/util/check.h"

namespace prlm::retrieval {

RetrievalClient::RetrievalClient(const std::vector<net::Endpoint>& endpoints, net::ClientOptions options,
                                 std::chrono::milliseconds timeout, net::RetryPolicy retry, size_t replicas,
                                 size_t preferred)
    : timeout_(timeout), retry_(retry) {
  PRLM_REQUIRE(!endpoints.empty(), "RetrievalClient: no shard endpoints given");
  PRLM_REQUIRE(replicas >= 1 && endpoints.size() % replicas == 0,
               "RetrievalClient: " << endpoints.size() << " endpoints are not " << replicas
                                   << " replicas of each shard (retrieval.replicas must divide layout.retrieval)");
  const size_t n = endpoints.size() / replicas;
  for (size_t s = 0; s < n; ++s) {
    std::vector<net::Endpoint> replica_endpoints;
    for (size_t r = 0; r < replicas; ++r) replica_endpoints.push_back(endpoints[r * n + s]);
    shards_.push_back(std::make_unique<net::FailoverGroup>("retrieval shard " + std::to_string(s) + " replica",
                                                           replica_endpoints, options, preferred));
  }
  retry_.attempts = std::max(retry_.attempts, static_cast<int>(replicas));  // every replica gets a try
}

std::vector<proto::ShardInfo> RetrievalClient::VerifyShards() {
  std::vector<proto::ShardInfo> infos;
  for (size_t i = 0; i < shards_.size(); ++i)
    for (size_t r = 0; r < shards_[i]->size(); ++r) {
      net::RpcClient& client = shards_[i]->at(r);
      const auto reply = client.Call(kShardInfoRequest, proto::ShardInfoRequest().SerializeAsString(), timeout_);
      proto::ShardInfo info;
      PRLM_REQUIRE(reply.type == kShardInfo && info.ParseFromString(reply.payload),
                   client.endpoint().ToString() << ": not a retrieval shard (reply type " << reply.type << ")");
      PRLM_REQUIRE(info.num_shards() == shards_.size(),
                   client.endpoint().ToString() << " belongs to an index of " << info.num_shards() << " shards, but "
                                                << shards_.size() * shards_[i]->size() << " endpoints were given as "
                                                << shards_[i]->size() << " replicas of " << shards_.size());
      PRLM_REQUIRE(info.shard() == i, client.endpoint().ToString()
                                          << " serves shard " << info.shard() << " but is listed as shard " << i
                                          << "; list endpoints in shard order");
      if (r == 0) infos.push_back(info);
    }
  return infos;
}

std::vector<std::string> RetrievalClient::TakeFailedServers() {
  std::vector<std::string> failed;
  for (auto& shard : shards_)
    for (auto& f : shard->TakeFailed()) failed.push_back(std::move(f));
  return failed;
}

std::vector<proto::RetrieveResult> RetrievalClient::Retrieve(const std::vector<proto::RetrieveRequest>& requests) {
  // 1. Group request indexes by shard.
  const uint32_t n = static_cast<uint32_t>(shards_.size());
  std::vector<std::vector<size_t>> by_shard(n);
  for (size_t i = 0; i < requests.size(); ++i) by_shard[ShardOf(requests[i].user_id(), n)].push_back(i);
  // 2. One batch per shard (split at the server's batch limit), in parallel.
  std::vector<proto::RetrieveResult> results(requests.size());
  auto serve_shard = [&](uint32_t shard) {
    const auto& idx = by_shard[shard];
    for (size_t start = 0; start < idx.size(); start += kMaxBatchRequests) {
      const size_t end = std::min(idx.size(), start + kMaxBatchRequests);
      proto::RetrieveBatch batch;
      for (size_t j = start; j < end; ++j) *batch.add_requests() = requests[idx[j]];
      const std::string payload = batch.SerializeAsString();
      net::FailoverGroup& replicas = *shards_[shard];
      const auto r = net::CallWithRetries(retry_, replicas.Describe(), &counters_,
                                          [&] { return replicas.Call(kRetrieveBatch, payload, timeout_); });
      proto::RetrieveBatchReply reply;
      if (r.type != kRetrieveBatchReply || !reply.ParseFromString(r.payload) ||
          reply.results_size() != static_cast<int>(end - start))
        throw net::RpcError(net::RpcError::kProtocol,
                            replicas.current().endpoint().ToString() + ": malformed RetrieveBatchReply");
      for (size_t j = start; j < end; ++j)
        results[idx[j]] = std::move(*reply.mutable_results(static_cast<int>(j - start)));
    }
  };
  std::vector<std::future<void>> pending;
  uint32_t local = n;  // the last busy shard runs on this thread
  for (uint32_t s = 0; s < n; ++s) {
    if (by_shard[s].empty()) continue;
    if (local != n) pending.push_back(std::async(std::launch::async, serve_shard, local));
    local = s;
  }
  if (local != n) serve_shard(local);
  for (auto& f : pending) f.get();  // rethrows a shard's failure
  return results;
}

proto::RetrieveResult RetrievalClient::RetrieveOne(const proto::RetrieveRequest& request) {
  return Retrieve({request})[0];
}

}  // namespace prlm::retrieval
