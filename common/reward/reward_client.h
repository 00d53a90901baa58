// The client of the reward tier: sends a list of completions (typically one
// GRPO group) to a reward server and returns its ScoreReply.
//
// Retries (net/retry.h, `retry` policy; one attempt by default): a transport
// failure, and a reply of DEADLINE_EXCEEDED, OVERLOADED or SHUTTING_DOWN (a
// slow or busy server), are tried again with back-off. A reply whose status
// is not OK is otherwise returned as it is, so the caller sees why (the last
// such reply when retries ran out); transport failures that outlast the
// retries throw net::RpcError naming the server. The transport deadline is
// the request's timeout plus a grace period, so the server's own timeout
// reply arrives first.
//
// Thread-safety: Score() may be called from many threads at once.
#pragma once

#include <chrono>
#include <vector>

#include "common/net/retry.h"
#include "common/net/rpc_client.h"
#include "proto/reward.pb.h"

namespace prlm::reward {

class RewardClient {
 public:
  explicit RewardClient(net::Endpoint endpoint, net::ClientOptions options = {}, net::RetryPolicy retry = {1});

  // timeout_ms 0: the server's default (then the transport waits up to 10 min).
  proto::ScoreReply Score(const std::vector<proto::ScoreItem>& items, uint32_t timeout_ms = 0);
  proto::RewardInfo Info(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // LoRe: fit the user's weights from `request`'s pairs on the server; read them back.
  proto::UserWeightsReply AdaptUser(const proto::AdaptUserRequest& request,
                                    std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));
  proto::UserWeightsReply UserWeights(const std::string& user,
                                      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  const net::Endpoint& endpoint() const { return client_.endpoint(); }
  const net::RetryCounters& retry_counters() const { return counters_; }

 private:
  net::RpcClient client_;
  net::RetryPolicy retry_;
  net::RetryCounters counters_;
};

// "OK", "DEADLINE_EXCEEDED", ...
const char* StatusName(proto::ScoreReply::Status status);

}  // namespace prlm::reward
