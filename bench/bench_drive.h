// Driving a service from many client threads for a fixed time, for the
// benchmarks: calls per second and latency percentiles.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

namespace prlm::cli {

struct RunStats {
  double qps = 0, p50_us = 0, p99_us = 0;
};

// Runs `clients` threads calling `one(thread, i)` for `seconds`; latency per call.
template <typename Fn>
inline RunStats Drive(int clients, double seconds, Fn one) {
  std::vector<std::vector<double>> lat(clients);
  std::atomic<bool> stop{false};
  std::vector<std::thread> threads;
  const auto t0 = std::chrono::steady_clock::now();
  for (int c = 0; c < clients; ++c)
    threads.emplace_back([&, c] {
      for (uint64_t i = 0; !stop.load(std::memory_order_relaxed); ++i) {
        const auto s = std::chrono::steady_clock::now();
        one(c, i);
        lat[c].push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - s).count());
      }
    });
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
  stop = true;
  for (auto& t : threads) t.join();
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::vector<double> all;
  for (auto& l : lat) all.insert(all.end(), l.begin(), l.end());
  std::sort(all.begin(), all.end());
  RunStats r;
  if (all.empty()) return r;
  r.qps = all.size() / elapsed;
  r.p50_us = all[all.size() / 2];
  r.p99_us = all[std::min(all.size() - 1, all.size() * 99 / 100)];
  return r;
}

}  // namespace prlm::cli
