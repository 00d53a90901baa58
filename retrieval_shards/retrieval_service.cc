#include "retrieval_shards/retrieval_service.h"

#include "common/retrieval/protocol.h"

namespace prlm::retrieval {

void RegisterRetrievalHandlers(net::RpcServer& server, const ShardIndex& index, const std::string& task) {
  server.Handle(kRetrieveBatch, [&index](const std::string& payload) {
    proto::RetrieveBatch batch;
    if (!batch.ParseFromString(payload)) throw net::BadPayload("RetrieveBatch does not parse");
    if (static_cast<size_t>(batch.requests_size()) > kMaxBatchRequests)
      throw net::BadPayload("RetrieveBatch over the batch limit");
    proto::RetrieveBatchReply reply;
    for (const auto& request : batch.requests()) *reply.add_results() = index.Retrieve(request);
    return net::Reply{kRetrieveBatchReply, reply.SerializeAsString()};
  });
  server.Handle(kShardInfoRequest, [&index, task](const std::string& payload) {
    proto::ShardInfoRequest request;
    if (!request.ParseFromString(payload)) throw net::BadPayload("ShardInfoRequest does not parse");
    proto::ShardInfo info;
    info.set_shard(index.shard());
    info.set_num_shards(index.num_shards());
    info.set_users(index.num_users());
    info.set_items(index.num_items());
    info.set_task(task);
    info.set_dense_dim(index.dense_dim());
    for (const auto& r : RetrieverNames())
      if ((r != "bm25" && r != "dense" && r != "dense_hnsw") || index.options().Has(r)) info.add_retrievers(r);
    return net::Reply{kShardInfo, info.SerializeAsString()};
  });
}

}  // namespace prlm::retrieval
