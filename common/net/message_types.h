// Every message type on prlm's TCP services, in one enum so that no two tiers
// can take the same number. Frames carry the number (frame.h); payloads are the
// proto/ messages named. Ranges: 1-15 every server, 16-31 the retrieval tier,
// 32-47 the reward tier; a new tier or request takes the next free numbers here.
// Thread-safety: constants.
#pragma once

#include <cstdint>

namespace prlm::net {

enum MessageType : uint16_t {
  // Served by every RpcServer (proto/net.proto).
  kErrorReply = 1,    // ErrorReply
  kStatsRequest = 2,  // StatsRequest -> StatsReply
  kStatsReply = 3,
  // Retrieval tier (proto/retrieval.proto).
  kRetrieveBatch = 16,  // RetrieveBatch -> RetrieveBatchReply
  kRetrieveBatchReply = 17,
  kShardInfoRequest = 18,  // ShardInfoRequest -> ShardInfo
  kShardInfo = 19,
  kRefreshIndexRequest = 20,  // RefreshIndexRequest -> RefreshIndexReply
  kRefreshIndexReply = 21,
  // Reward tier (proto/reward.proto).
  kScoreRequest = 32,  // ScoreRequest -> ScoreReply
  kScoreReply = 33,
  kRewardInfoRequest = 34,  // RewardInfoRequest -> RewardInfo
  kRewardInfo = 35,
  kAdaptUserRequest = 36,    // AdaptUserRequest -> UserWeightsReply (LoRe)
  kUserWeightsRequest = 37,  // UserWeightsRequest -> UserWeightsReply
  kUserWeightsReply = 38,
  // Elastic rollout tier (proto/rollout_gateway.proto).
  kJoinRequest = 48,  // JoinRequest -> JoinReply
  kJoinReply = 49,
  kWorkRequest = 50,  // WorkRequest -> WorkReply
  kWorkReply = 51,
  kRenewRequest = 52,  // RenewRequest -> RenewReply
  kRenewReply = 53,
  kItemResult = 54,  // ItemResult -> ItemResultReply
  kItemResultReply = 55,
  kWeightChunkRequest = 56,  // WeightChunkRequest -> WeightChunk
  kWeightChunk = 57,
};

// Types 1-15 are answered by the server itself; handlers take the rest.
constexpr bool IsReservedMessageType(uint16_t type) { return type < 16; }

}  // namespace prlm::net
