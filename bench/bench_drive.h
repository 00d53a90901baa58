// Driving a service from many client threads for a fixed time, for the
// benchmarks: calls per second and latency percentiles; and the transports a
// benchmark compares (open, the job secret, the secret over TLS).
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <thread>
#include <vector>

#include "common/net/handshake.h"
#include "common/net/rpc_client.h"
#include "common/net/rpc_server.h"
#include "common/net/tls.h"

namespace prlm::bench {

// How a benchmark's clients reach its server.
struct Transport {
  const char* name;
  net::ServerOptions server;
  net::ClientOptions client;
};

// {open: no handshake; secret: the job secret's handshake, as a training job
// runs; tls: the same inside TLS 1.3 (net.tls), the certificate pinned}.
inline std::vector<Transport> BenchTransports(int server_threads) {
  std::vector<Transport> t(3);
  const std::string secret = net::NewSecret();
  const net::TlsIdentity identity = net::MakeSelfSignedIdentity("localhost");
  t[0].name = "open";
  t[1].name = "secret";
  t[1].server.secret = t[1].client.secret = secret;
  t[2] = t[1];
  t[2].name = "secret+TLS";
  t[2].server.tls = identity;
  t[2].client.tls = true;
  t[2].client.tls_trust = net::TlsTrust{identity.certificate_pem};
  for (auto& x : t) x.server.worker_threads = server_threads;
  return t;
}

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

}  // namespace prlm::bench
