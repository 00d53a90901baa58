#include "retrieval_shards/retrieval_service.h"

#include <atomic>
#include <map>
#include <memory>

#include "common/retrieval/protocol.h"

namespace prlm::retrieval_shards {

void RegisterRetrievalHandlers(net::RpcServer& server, VersionedShard& shard) {
  auto over_limit = std::make_shared<std::atomic<uint64_t>>(0);
  server.Handle(net::kRetrieveBatch, [&shard, over_limit](const std::string& payload) {
    const VersionedShard::Snapshot snapshot = shard.Current();  // the whole batch from one version
    const ShardIndex& index = *snapshot.shard->index;
    proto::RetrieveBatch batch;
    if (!batch.ParseFromString(payload)) throw net::BadPayload("RetrieveBatch does not parse");
    if (static_cast<size_t>(batch.requests_size()) > retrieval::kMaxBatchRequests)
      throw net::BadPayload("RetrieveBatch over the batch limit");
    proto::RetrieveBatchReply reply;
    for (const auto& request : batch.requests()) {
      // Sizes first: an oversized user id is not echoed into an error.
      const char* too_long = request.user_id().size() > retrieval::kMaxUserIdBytes ? "user id"
                             : request.query().size() > retrieval::kMaxQueryBytes  ? "query"
                                                                                   : nullptr;
      if (too_long) {
        over_limit->fetch_add(1, std::memory_order_relaxed);
        reply.add_results()->set_error(
            std::string("the request's ") + too_long + " is over the limit of " +
            std::to_string(too_long[0] == 'u' ? retrieval::kMaxUserIdBytes : retrieval::kMaxQueryBytes) + " bytes");
        continue;
      }
      *reply.add_results() = index.Retrieve(request);
    }
    for (auto& result : *reply.mutable_results()) result.set_index_version(snapshot.version);
    return net::Reply{net::kRetrieveBatchReply, reply.SerializeAsString()};
  });
  server.AddCounters([over_limit] {
    return std::map<std::string, uint64_t>{{"retrieval_over_limit", over_limit->load()}};
  });
  server.Handle(net::kShardInfoRequest, [&shard](const std::string& payload) {
    proto::ShardInfoRequest request;
    if (!request.ParseFromString(payload)) throw net::BadPayload("ShardInfoRequest does not parse");
    const VersionedShard::Snapshot snapshot = shard.Current();
    const ShardIndex& index = *snapshot.shard->index;
    proto::ShardInfo info;
    info.set_shard(index.shard());
    info.set_num_shards(index.num_shards());
    info.set_users(index.num_users());
    info.set_items(index.num_items());
    info.set_task(snapshot.shard->manifest.task);
    info.set_index_version(snapshot.version);
    info.set_dense_dim(index.dense_dim());
    for (const auto& r : retrieval::RetrieverNames())
      if ((r != "bm25" && r != "dense" && r != "dense_hnsw") || index.options().Has(r)) info.add_retrievers(r);
    return net::Reply{net::kShardInfo, info.SerializeAsString()};
  });
  server.Handle(net::kRefreshIndexRequest, [&shard](const std::string& payload) {
    proto::RefreshIndexRequest request;
    if (!request.ParseFromString(payload)) throw net::BadPayload("RefreshIndexRequest does not parse");
    proto::RefreshIndexReply reply;
    if (request.encoder_dir().empty()) {
      reply.set_error("no encoder directory given");
      reply.set_index_version(shard.Current().version);
    } else {
      const RefreshResult r = shard.Refresh(request.encoder_dir());
      reply.set_ok(r.ok);
      reply.set_index_version(r.version);
      reply.set_error(r.error);
      reply.set_seconds(r.seconds);
    }
    return net::Reply{net::kRefreshIndexReply, reply.SerializeAsString()};
  });
}

}  // namespace prlm::retrieval_shards
