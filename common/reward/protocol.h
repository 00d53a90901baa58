// The reward tier's request limits.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/net/message_types.h"

namespace prlm::reward {

// Its message types (32-47) are in common/net/message_types.h.
using net::kAdaptUserRequest;
using net::kRewardInfo;
using net::kRewardInfoRequest;
using net::kScoreReply;
using net::kScoreRequest;
using net::kUserWeightsReply;
using net::kUserWeightsRequest;

// Sizes a client controls (docs/security.md lists every limit).
constexpr size_t kMaxItemsPerRequest = 4096;
constexpr size_t kMaxTextBytes = 256 * 1024;  // an item's query, completion or gold
constexpr size_t kMaxUserIdBytes = 1024;
constexpr size_t kMaxAdaptPairs = 1024;  // preference pairs in one AdaptUserRequest

}  // namespace prlm::reward
