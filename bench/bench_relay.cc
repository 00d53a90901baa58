// prlm bench relay: weights reaching N rollout workers over the elastic
// tier's TCP protocol (comm/weight_relay.h), two ways over the same bytes in
// the same run, every server on loopback with the job secret and TLS:
//   chain  each worker fetches from the one before it (the first from the
//          head, learner 0), all at once, forwarding chunks as they arrive;
//   star   every worker fetches from the head (the baseline: the head sends
//          N copies).
// Reported per N: seconds until every worker holds the version (best of
// --repeat) and the bytes the head sent. On one machine the links share its
// cores, not a network, so the time figure says little about a cluster; the
// head's bytes are what the chain is for.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <memory>
#include <thread>
#include <vector>

#include "bench/bench.h"
#include "common/comm/weight_relay.h"
#include "common/net/handshake.h"
#include "common/net/rpc_server.h"
#include "common/util/check.h"
#include "options/args.h"

namespace prlm::bench {
namespace {

using Clock = std::chrono::steady_clock;

// A store served on loopback, on its own thread.
struct Node {
  Node(size_t chunk_bytes, const net::ServerOptions& options) : store(chunk_bytes), server(options) {
    comm::ServeWeights(server, store, std::chrono::seconds(60));
    thread = std::thread([this] { server.Run(); });
  }
  ~Node() {
    server.Stop();
    thread.join();
  }
  net::Endpoint endpoint() const { return {"127.0.0.1", server.port()}; }
  comm::WeightStore store;
  net::RpcServer server;
  std::thread thread;
};

// Every worker fetches `version` from its source at once; returns the seconds until all hold it.
double FetchAll(const std::vector<std::unique_ptr<Node>>& workers, const std::vector<net::Endpoint>& sources,
                int64_t version, const net::ClientOptions& client) {
  const auto t0 = Clock::now();
  std::vector<std::thread> fetches;
  for (size_t i = 0; i < workers.size(); ++i)
    fetches.emplace_back([&, i] {
      net::RpcClient from(sources[i], client);
      comm::FetchWeights(from, version, &workers[i]->store, std::chrono::seconds(60));
    });
  for (auto& f : fetches) f.join();
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int BenchRelay(int argc, char** argv) {
  options::Args args("bench relay",
                     "Weights reaching N workers by the elastic tier's relay chain vs every worker fetching from\n"
                     "the head (learner 0): seconds until all hold the version, and the bytes the head sent.");
  args.Option("mb", "N", "64", "MiB of weights")
      .Option("workers", "LIST", "1,2,4,8", "worker counts")
      .Option("chunk-kb", "N", "4096", "chunk size (KiB)")
      .Option("repeat", "N", "3", "versions sent per N and way (the best time is reported)")
      .Flag("no-tls", "plaintext (the secret's handshake only)");
  if (!args.Parse(argc, argv)) return 0;
  const size_t chunk = static_cast<size_t>(args.GetInt("chunk-kb")) << 10;
  const int repeat = std::max(1, args.GetInt("repeat"));
  net::ServerOptions server;
  server.secret = net::NewSecret();
  server.worker_threads = 4;
  const bool tls = !args.GetFlag("no-tls");
  if (tls) server.tls = net::MakeSelfSignedIdentity("127.0.0.1");
  net::ClientOptions client;
  client.secret = server.secret;
  client.tls = tls;
  const std::vector<int> worker_counts = args.GetPositiveInts("workers");
  const torch::Tensor weights = torch::randint(0, 255, {args.GetInt("mb") << 20}, torch::kUInt8);
  std::printf("%d MiB, chunks of %zu KiB, %s; best of %d\n", args.GetInt("mb"), chunk >> 10,
              tls ? "TLS 1.3 + secret" : "secret only", repeat);
  std::printf("%8s %10s %10s %8s %14s %14s\n", "workers", "chain s", "star s", "star/chain", "head MB chain",
              "head MB star");
  int64_t version = 0;
  for (const int n : worker_counts) {
    double best[2] = {1e30, 1e30};
    uint64_t head_bytes[2] = {0, 0};
    for (int way = 0; way < 2; ++way) {  // 0: chain, 1: star
      for (int r = 0; r < repeat; ++r) {
        Node head(chunk, server);
        std::vector<std::unique_ptr<Node>> workers;
        std::vector<net::Endpoint> sources;
        for (int i = 0; i < n; ++i) {
          workers.push_back(std::make_unique<Node>(chunk, server));
          sources.push_back(way == 0 && i > 0 ? workers[i - 1]->endpoint() : head.endpoint());
        }
        head.store.Publish(++version, {weights});
        best[way] = std::min(best[way], FetchAll(workers, sources, version, client));
        head_bytes[way] = head.store.bytes_served();
        torch::Tensor check = torch::zeros_like(weights);
        workers.back()->store.CopyInto(version, {check});
        PRLM_CHECK_MSG(torch::equal(check, weights), "the last worker's copy differs");
      }
    }
    std::printf("%8d %10.3f %10.3f %8.2f %14.1f %14.1f\n", n, best[0], best[1], best[1] / best[0],
                static_cast<double>(head_bytes[0]) / 1e6, static_cast<double>(head_bytes[1]) / 1e6);
  }
  return 0;
}

}  // namespace prlm::bench
