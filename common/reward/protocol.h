// Message types of the reward tier (frame.h numbering: 32-47) and its request
// limits. Payloads are the proto/reward.proto messages named.
#pragma once

#include <cstddef>
#include <cstdint>

namespace prlm::reward {

enum MessageType : uint16_t {
  kScoreRequest = 32,  // ScoreRequest -> ScoreReply
  kScoreReply = 33,
  kRewardInfoRequest = 34,  // RewardInfoRequest -> RewardInfo
  kRewardInfo = 35,
};

constexpr size_t kMaxItemsPerRequest = 4096;

}  // namespace prlm::reward
