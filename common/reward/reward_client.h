// The client of the reward tier: sends a list of completions (typically one
// GRPO group) to a reward server and returns its ScoreReply.
//
// Failover (net/failover_group.h): given several servers (preferred first),
// a transport failure moves the client on to the next server for that
// call's next attempt and every later call. Every server of a tier scores
// alike, so results do not depend on which one answered (LoRe users adapted
// through AdaptUser are the exception: the weights live on the server that
// fitted them).
//
// Retries (net/retry.h, `retry` policy; one attempt by default, and at
// least one per server): a transport
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
#include <string>
#include <vector>

#include "common/net/failover_group.h"
#include "common/net/retry.h"
#include "common/net/rpc_client.h"
#include "proto/reward.pb.h"

namespace prlm::reward {

class RewardClient {
 public:
  // REQUIRES: !endpoints.empty().
  explicit RewardClient(const std::vector<net::Endpoint>& endpoints, net::ClientOptions options = {},
                        net::RetryPolicy retry = {1});
  explicit RewardClient(net::Endpoint endpoint, net::ClientOptions options = {}, net::RetryPolicy retry = {1})
      : RewardClient(std::vector<net::Endpoint>{std::move(endpoint)}, std::move(options), retry) {}

  // timeout_ms 0: the server's default (then the transport waits up to 10 min).
  proto::ScoreReply Score(const std::vector<proto::ScoreItem>& items, uint32_t timeout_ms = 0);
  proto::RewardInfo Info(std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // LoRe: fit the user's weights from `request`'s pairs on the server; read them back.
  proto::UserWeightsReply AdaptUser(const proto::AdaptUserRequest& request,
                                    std::chrono::milliseconds timeout = std::chrono::milliseconds(60000));
  proto::UserWeightsReply UserWeights(const std::string& user,
                                      std::chrono::milliseconds timeout = std::chrono::milliseconds(5000));
  // The server calls go to now.
  const net::Endpoint& endpoint() const { return servers_.current().endpoint(); }
  const net::RetryCounters& retry_counters() const { return counters_; }
  int64_t reroutes() const { return servers_.reroutes(); }
  // The servers (host:port) that calls moved away from since the last call.
  std::vector<std::string> TakeFailedServers() { return servers_.TakeFailed(); }

 private:
  net::FailoverGroup servers_;
  net::RetryPolicy retry_;
  net::RetryCounters counters_;
};

// "OK", "DEADLINE_EXCEEDED", ...
const char* StatusName(proto::ScoreReply::Status status);

}  // namespace prlm::reward
