#include "common/retrieval/retrieval_client.h"

#include <future>

#include "common/retrieval/protocol.h"
#include "common/retrieval/sharding.h"
#include "common/util/check.h"

namespace prlm::retrieval {

RetrievalClient::RetrievalClient(std::vector<net::Endpoint> shards, net::ClientOptions options,
                                 std::chrono::milliseconds timeout, net::RetryPolicy retry)
    : timeout_(timeout), retry_(retry) {
  PRLM_REQUIRE(!shards.empty(), "RetrievalClient: no shard endpoints given");
  for (auto& e : shards) clients_.push_back(std::make_unique<net::RpcClient>(std::move(e), options));
}

std::vector<proto::ShardInfo> RetrievalClient::VerifyShards() {
  std::vector<proto::ShardInfo> infos;
  for (size_t i = 0; i < clients_.size(); ++i) {
    const auto r = clients_[i]->Call(kShardInfoRequest, proto::ShardInfoRequest().SerializeAsString(), timeout_);
    proto::ShardInfo info;
    PRLM_REQUIRE(r.type == kShardInfo && info.ParseFromString(r.payload),
                 clients_[i]->endpoint().ToString() << ": not a retrieval shard (reply type " << r.type << ")");
    PRLM_REQUIRE(info.num_shards() == clients_.size(),
                 clients_[i]->endpoint().ToString() << " belongs to an index of " << info.num_shards()
                                                    << " shards, but " << clients_.size() << " endpoints were given");
    PRLM_REQUIRE(info.shard() == i, clients_[i]->endpoint().ToString()
                                        << " serves shard " << info.shard() << " but is listed as shard " << i
                                        << "; list endpoints in shard order");
    infos.push_back(info);
  }
  return infos;
}

std::vector<proto::RetrieveResult> RetrievalClient::Retrieve(const std::vector<proto::RetrieveRequest>& requests) {
  // 1. Group request indexes by shard.
  const uint32_t n = static_cast<uint32_t>(clients_.size());
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
      const auto r =
          net::CallWithRetries(retry_, "retrieval shard " + clients_[shard]->endpoint().ToString(), &counters_,
                               [&] { return clients_[shard]->Call(kRetrieveBatch, payload, timeout_); });
      proto::RetrieveBatchReply reply;
      if (r.type != kRetrieveBatchReply || !reply.ParseFromString(r.payload) ||
          reply.results_size() != static_cast<int>(end - start))
        throw net::RpcError(net::RpcError::kProtocol,
                            clients_[shard]->endpoint().ToString() + ": malformed RetrieveBatchReply");
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
