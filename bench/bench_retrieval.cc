// prlm bench retrieval: one shard served over loopback against FAISS called
// in-process on the same index and the same query embeddings.
#include <faiss/Index.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <thread>

#include "bench/bench_drive.h"
#include "cli/args.h"
#include "common/net/handshake.h"
#include "common/net/message_types.h"
#include "common/net/rpc_client.h"
#include "common/net/rpc_server.h"
#include "common/retrieval/retrieval_client.h"
#include "common/util/check.h"
#include "common/util/rng.h"
#include "retrieval_shards/index_dir.h"
#include "retrieval_shards/retrieval_service.h"

namespace prlm::cli {

using retrieval::LoadedShard;

int BenchRetrieval(int argc, char** argv) {
  Args args("bench retrieval",
            "Queries/s and p50/p99 latency of one shard over loopback (k items, dense retriever, the\n"
            "query embeddings precomputed) against FAISS searched in-process on the same per-user\n"
            "indexes and embeddings, at several client counts; the same with a server that asks for no\n"
            "secret (the handshake's cost on pooled connections); the cost of a new connection with and\n"
            "without the handshake; and HNSW recall@k against exact.");
  args.Option("index", "DIR", "", "index built with dense (and dense_hnsw) retrievers", true)
      .Option("clients", "LIST", "1,8,32", "concurrent clients")
      .Option("seconds", "S", "3", "seconds per measurement")
      .Option("k", "K", "5", "items per query")
      .Option("retriever", "R", "dense", "dense or dense_hnsw")
      .Option("threads", "N", "2", "server worker threads");
  if (!args.Parse(argc, argv)) return 0;
  LoadedShard shard = retrieval::LoadShard(args.Get("index"), 0);
  const auto& index = *shard.index;
  const std::string retriever = args.Get("retriever");
  PRLM_REQUIRE(index.options().Has(retriever), "the index has no " << retriever << " retriever");
  const int k = args.GetInt("k"), dim = index.dense_dim();
  // 1. Queries: per user, a random unit vector (the cost does not depend on the text).
  const std::vector<std::string> users = index.user_ids();
  PRLM_REQUIRE(!users.empty(), "shard 0 has no users");
  std::vector<std::vector<float>> queries;
  SplitMix64 rng(7);
  for (size_t i = 0; i < 1024; ++i) {
    std::vector<float> q(dim);
    double norm = 0;
    for (auto& x : q) x = static_cast<float>(rng.Uniform() - 0.5), norm += x * x;
    for (auto& x : q) x = static_cast<float>(x / std::sqrt(norm));
    queries.push_back(std::move(q));
  }
  auto request_of = [&](uint64_t i) {
    proto::RetrieveRequest r;
    r.set_user_id(users[i % users.size()]);
    r.set_k(k);
    r.set_retriever(retriever);
    const auto& q = queries[i % queries.size()];
    r.mutable_query_embedding()->Add(q.begin(), q.end());
    return r;
  };
  // 2. Two servers on this process's loopback: one asking for the job
  //    secret, as in a training job, and one without (the baseline).
  net::ServerOptions so;
  so.worker_threads = args.GetInt("threads");
  net::RpcServer open_server(so);
  so.secret = net::NewSecret();
  net::RpcServer server(so);
  for (auto* s : {&server, &open_server}) retrieval::RegisterRetrievalHandlers(*s, index, shard.manifest.task);
  std::thread serving([&] { server.Run(); }), open_serving([&] { open_server.Run(); });
  net::ClientOptions authenticated;
  authenticated.secret = so.secret;
  retrieval::RetrievalClient client({{"127.0.0.1", server.port()}}, authenticated);
  retrieval::RetrievalClient open_client({{"127.0.0.1", open_server.port()}});
  // The handshake's cost: fresh connections (none kept idle), each with one
  // Stats call, to each server in turn.
  {
    net::ClientOptions fresh = authenticated;
    fresh.max_idle_connections = 0;
    net::RpcClient with({"127.0.0.1", server.port()}, fresh);
    fresh.secret.clear();
    net::RpcClient without({"127.0.0.1", open_server.port()}, fresh);
    double with_s = 0, without_s = 0;
    const int kConnections = 2000;
    for (int round = 0; round < 20; ++round)
      for (auto [c, total] : {std::pair{&with, &with_s}, std::pair{&without, &without_s}}) {
        const auto t0 = std::chrono::steady_clock::now();
        for (int i = 0; i < kConnections / 20; ++i) c->Call(net::kStatsRequest, "", std::chrono::seconds(5));
        *total += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
      }
    std::printf("a new connection and one call: %.1f us with the handshake, %.1f us without (%d each, "
                "interleaved): ratio %.2f\n",
                1e6 * with_s / kConnections, 1e6 * without_s / kConnections, kConnections, with_s / without_s);
  }
  std::printf("shard 0: %zu users, %zu items, dim %d, k %d, retriever %s\n", users.size(), index.num_items(), dim, k,
              retriever.c_str());
  std::printf("%8s %12s %10s %10s %12s %10s %10s %10s %12s %10s\n", "clients", "svc q/s", "p50 us", "p99 us",
              "faiss q/s", "p50 us", "p99 us", "q/s ratio", "no-auth q/s", "auth ratio");
  const double seconds = args.GetDouble("seconds");
  for (const int clients : args.GetPositiveInts("clients")) {
    const RunStats svc = Drive(clients, seconds, [&](int c, uint64_t i) {
      const auto r = client.RetrieveOne(request_of(i * 131 + c));
      PRLM_CHECK(r.error().empty() && r.items_size() > 0);
    });
    const RunStats local = Drive(clients, seconds, [&](int c, uint64_t i) {
      const auto req = request_of(i * 131 + c);
      const faiss::Index* idx = index.FaissIndex(req.user_id(), retriever == "dense_hnsw");
      float distances[1024];
      int64_t labels[1024];
      idx->search(1, req.query_embedding().data(), std::min<int64_t>(k, idx->ntotal), distances, labels);
    });
    const RunStats open = Drive(clients, seconds, [&](int c, uint64_t i) {
      const auto r = open_client.RetrieveOne(request_of(i * 131 + c));
      PRLM_CHECK(r.error().empty() && r.items_size() > 0);
    });
    std::printf("%8d %12.0f %10.1f %10.1f %12.0f %10.1f %10.1f %10.3f %12.0f %10.3f\n", clients, svc.qps, svc.p50_us,
                svc.p99_us, local.qps, local.p50_us, local.p99_us, svc.qps / local.qps, open.qps, svc.qps / open.qps);
  }
  server.Stop();
  open_server.Stop();
  serving.join();
  open_serving.join();
  // 3. HNSW recall@k against the exact index, when both were built.
  if (index.options().Has("dense") && index.options().Has("dense_hnsw")) {
    double hit = 0, total = 0;
    for (size_t i = 0; i < 2000; ++i) {
      const auto req = request_of(i);
      const faiss::Index* exact = index.FaissIndex(req.user_id(), false);
      const faiss::Index* approx = index.FaissIndex(req.user_id(), true);
      const int64_t kk = std::min<int64_t>(k, exact->ntotal);
      std::vector<float> d1(kk), d2(kk);
      std::vector<int64_t> l1(kk), l2(kk);
      exact->search(1, req.query_embedding().data(), kk, d1.data(), l1.data());
      approx->search(1, req.query_embedding().data(), kk, d2.data(), l2.data());
      for (int64_t a : l1) hit += std::count(l2.begin(), l2.end(), a), total += 1;
    }
    std::printf("dense_hnsw recall@%d vs exact: %.4f (2000 queries, ef_search %d)\n", k, hit / total,
                index.options().hnsw_ef_search);
  }
  return 0;
}

}  // namespace prlm::cli
