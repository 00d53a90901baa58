// The reward server's request handlers on an RpcServer: ScoreRequest ->
// ScoreReply (async: the reply is written when the batch that carries the
// request finishes, without holding a network worker), RewardInfoRequest ->
// RewardInfo, and the scorer's counters (prefixed "reward_") in StatsReply.
// A payload that does not parse closes its connection (BadPayload).
// Thread-safety: the handlers only call the thread-safe RewardScorer.
#pragma once

#include "common/net/rpc_server.h"
#include "reward_server/reward_scorer.h"

namespace prlm::reward_server {

// REQUIRES: `scorer` outlives the server.
void RegisterRewardHandlers(net::RpcServer& server, RewardScorer& scorer);

}  // namespace prlm::reward_server
