// Asking the retrieval tier to serve another encoder: every shard server
// re-embeds its users' profiles with the encoder directory (a path on the
// shard's host) and swaps the new index in as its next version
// (retrieval_shards/versioned_shard.h). Shards refresh in parallel; each one
// that fails keeps serving its old version and says why. Used by
// `prlm refresh-index` and by `train-retriever --refresh-every`.
// Thread-safety: a plain function (one client per shard, per call).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/net/rpc_client.h"

namespace prlm::retrieval {

struct ShardRefresh {
  std::string server;  // "host:port"
  bool ok = false;
  uint64_t index_version = 0;  // serving now (the new one when ok)
  double seconds = 0;          // the shard's refresh time
  std::string error;           // why not, when !ok
};

// One outcome per endpoint, in order; never throws for a shard's failure.
// `encoder_dir` is made absolute here.
std::vector<ShardRefresh> RefreshShards(const std::vector<net::Endpoint>& servers, const net::ClientOptions& client,
                                        const std::string& encoder_dir, std::chrono::seconds timeout);

}  // namespace prlm::retrieval
