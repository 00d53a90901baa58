// The reward tier's request limits.
#pragma once

#include <cstddef>
#include <cstdint>

#include "common/net/message_types.h"

namespace prlm::reward {

// Its message types (32-47) are in common/net/message_types.h.
using net::kRewardInfo;
using net::kRewardInfoRequest;
using net::kScoreReply;
using net::kScoreRequest;

constexpr size_t kMaxItemsPerRequest = 4096;

}  // namespace prlm::reward
