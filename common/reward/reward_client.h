// The client of the reward tier: sends a list of completions (typically one
// GRPO group) to a reward server and returns its ScoreReply.
//
// Failover: given several servers (preferred first), a call whose server
// cannot be reached or does not answer in time (a transport failure) moves
// the client on to the next server, round-robin, for that call's next
// attempt and every later call; the move is logged and counted (reroutes).
// Every server of a tier scores alike, so results do not depend on which
// one answered (LoRe users adapted through AdaptUser are the exception: the
// weights live on the server that fitted them).
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

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

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
  const net::Endpoint& endpoint() const { return current().endpoint(); }
  const net::RetryCounters& retry_counters() const { return counters_; }
  int64_t reroutes() const { return reroutes_.load(); }
  // The servers (host:port) that calls moved away from since the last call.
  std::vector<std::string> TakeFailedServers();

 private:
  // After a transport failure of server `failed`: the next server, unless
  // another caller moved on already.
  void MoveOn(size_t failed, const std::string& why);
  net::RpcClient& current() const { return *clients_[current_.load()]; }  // the server calls go to now
  std::vector<std::unique_ptr<net::RpcClient>> clients_;
  std::atomic<size_t> current_{0};
  std::atomic<int64_t> reroutes_{0};
  std::mutex failed_mutex_;
  std::vector<std::string> failed_;  // GUARDED_BY(failed_mutex_)
  net::RetryPolicy retry_;
  net::RetryCounters counters_;
};

// "OK", "DEADLINE_EXCEEDED", ...
const char* StatusName(proto::ScoreReply::Status status);

}  // namespace prlm::reward
