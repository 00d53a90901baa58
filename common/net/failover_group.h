// Servers that answer alike (the reward tier; the replicas of a retrieval
// shard): calls go to one of them, and a transport failure moves every
// later call to the next, round-robin.
//
//   FailoverGroup group("reward server", endpoints, options);
//   auto response = CallWithRetries(policy, group.Describe(), &counters,
//                                   [&] { return group.Call(type, payload, timeout); });
//
// Call() makes one attempt at the current server. When it fails with a
// retryable net::RpcError (the server cannot be reached or does not answer
// in time: net/retry.h), the group moves on to the next server (unless
// another caller already did), logs the move once, counts it (reroutes) and
// notes the failed server for TakeFailed(); then the error propagates, so a
// retry loop around Call() tries the next server. A server moved away from
// is tried again only when the group comes round to it.
//
// Thread-safety: Call() and the accessors may run on many threads at once.
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "common/net/rpc_client.h"

namespace prlm::net {

class FailoverGroup {
 public:
  // `what` names one server in messages ("reward server"); calls start at
  // server `first` (mod the count), so that clients spread over the group.
  // REQUIRES: !endpoints.empty().
  FailoverGroup(std::string what, const std::vector<Endpoint>& endpoints, const ClientOptions& options,
                size_t first = 0);

  RpcClient::Response Call(uint16_t type, const std::string& payload, std::chrono::milliseconds timeout);

  RpcClient& current() const { return *clients_[current_.load()]; }  // the server calls go to now
  RpcClient& at(size_t i) const { return *clients_.at(i); }
  size_t size() const { return clients_.size(); }
  int64_t reroutes() const { return reroutes_.load(); }
  // "reward server A (or B, C)": the group, for messages.
  std::string Describe() const;
  // The servers (host:port) that calls moved away from since the last call.
  std::vector<std::string> TakeFailed();

 private:
  void MoveOn(size_t failed, const std::string& why);

  const std::string what_;
  std::vector<std::unique_ptr<RpcClient>> clients_;
  std::atomic<size_t> current_{0};
  std::atomic<int64_t> reroutes_{0};
  std::mutex failed_mutex_;
  std::vector<std::string> failed_;  // GUARDED_BY(failed_mutex_)
};

}  // namespace prlm::net
