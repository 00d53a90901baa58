// The retrieval shard's request handlers on an RpcServer: RetrieveBatch
// (one result per request, in order, every result from one index version,
// which it names), ShardInfo, and RefreshIndex (re-embed the shard's
// profiles with another encoder and serve them as the next version;
// versioned_shard.h). A payload that is not a valid message, or a batch over
// kMaxBatchRequests, closes that connection (BadPayload); per-request
// problems come back in RetrieveResult.error.
//
// A refresh holds one of the server's worker threads until it ends, so a
// shard that may be refreshed wants at least two (the default).
// Thread-safety: handlers read snapshots of the VersionedShard.
#pragma once

#include "common/net/rpc_server.h"
#include "retrieval_shards/versioned_shard.h"

namespace prlm::retrieval_shards {

// REQUIRES: `shard` outlives the server.
void RegisterRetrievalHandlers(net::RpcServer& server, VersionedShard& shard);

}  // namespace prlm::retrieval_shards
