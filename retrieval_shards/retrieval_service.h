// The retrieval shard's request handlers on an RpcServer: RetrieveBatch
// (one result per request, in order) and ShardInfo. A payload that is not a
// valid message, or a batch over kMaxBatchRequests, closes that connection
// (BadPayload); per-request problems come back in RetrieveResult.error.
// Thread-safety: the handlers only read the (immutable) ShardIndex.
#pragma once

#include "common/net/rpc_server.h"
#include "retrieval_shards/shard_index.h"

namespace prlm::retrieval {

// REQUIRES: `index` outlives the server.
void RegisterRetrievalHandlers(net::RpcServer& server, const ShardIndex& index, const std::string& task);

}  // namespace prlm::retrieval
