// Bounded retries with exponential back-off around a call to a service tier
// (retrieval, reward), for failures that may pass: the deadline passed (the
// service is slow) or it could not be reached (restarting, overloaded).
//
//   CallWithRetries(policy, "reward server rank 2 at vm:4100", &counters, [&] { return client.Score(...); });
//
// fn() is tried up to policy.attempts times. After a retryable net::RpcError
// (kDeadline, kUnavailable) the caller sleeps backoff_s, doubled after each
// failure up to max_backoff_s, and tries again; other errors (kRemote,
// kProtocol: a bug or bad input, which a retry would only repeat) propagate at
// once. When every attempt failed, throws net::RpcError (kind of the last
// failure) naming `what`, the attempt count, the time spent and the last
// error. Counters record the retries and the calls that gave up.
//
// Thread-safety: the counters are atomic; everything else is the caller's.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "common/net/rpc_client.h"

namespace prlm::net {

struct RetryPolicy {
  int attempts = 4;  // including the first
  double backoff_s = 0.5;
  double max_backoff_s = 10;
};

struct RetryCounters {
  std::atomic<int64_t> retries{0};   // attempts after a first one
  std::atomic<int64_t> failures{0};  // calls that gave up
};

inline bool Retryable(const RpcError& e) {
  return e.kind() == RpcError::kDeadline || e.kind() == RpcError::kUnavailable;
}

template <typename Fn>
auto CallWithRetries(const RetryPolicy& policy, const std::string& what, RetryCounters* counters, Fn fn)
    -> decltype(fn()) {
  const auto start = std::chrono::steady_clock::now();
  double backoff = policy.backoff_s;
  for (int attempt = 1;; ++attempt) {
    try {
      return fn();
    } catch (const RpcError& e) {
      if (!Retryable(e)) throw;
      if (attempt >= policy.attempts) {
        if (counters) ++counters->failures;
        const double spent = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        throw RpcError(e.kind(), what + ": gave up after " + std::to_string(attempt) + " attempts over " +
                                     std::to_string(static_cast<int>(spent + 0.5)) + " s; last error: " + e.what());
      }
      if (counters) ++counters->retries;
      std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
      backoff = std::min(backoff * 2, policy.max_backoff_s);
    }
  }
}

}  // namespace prlm::net
