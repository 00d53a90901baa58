// prlm bench retrieval: one shard served over loopback against FAISS called
// in-process on the same index and the same query embeddings.
#include <faiss/Index.h>

#include <algorithm>
#include <cmath>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <functional>
#include <memory>
#include <thread>
#include <vector>

#include "bench/bench.h"
#include "bench/bench_drive.h"
#include "options/args.h"
#include "common/net/message_types.h"
#include "common/net/rpc_client.h"
#include "common/net/rpc_server.h"
#include "common/retrieval/retrieval_client.h"
#include "proto/retrieval.pb.h"
#include "common/util/check.h"
#include "common/util/rng.h"
#include "retrieval_shards/index_dir.h"
#include "retrieval_shards/retrieval_service.h"

namespace prlm::bench {

using retrieval_shards::LoadedShard;

namespace {

// Per-user queries: random unit vectors (the cost does not depend on the text).
std::vector<std::vector<float>> RandomUnitQueries(int dim, size_t n) {
  std::vector<std::vector<float>> queries;
  util::SplitMix64 rng(7);
  for (size_t i = 0; i < n; ++i) {
    std::vector<float> q(dim);
    double norm = 0;
    for (auto& x : q) x = static_cast<float>(rng.Uniform() - 0.5), norm += x * x;
    for (auto& x : q) x = static_cast<float>(x / std::sqrt(norm));
    queries.push_back(std::move(q));
  }
  return queries;
}

// A new connection's cost: fresh connections (none kept idle), each with one
// Stats call, to each server in turn, interleaved.
void ReportConnectionCost(const std::vector<Transport>& transports,
                          const std::vector<std::unique_ptr<net::RpcServer>>& servers) {
  std::vector<std::unique_ptr<net::RpcClient>> fresh;
  for (size_t i = 0; i < transports.size(); ++i) {
    net::ClientOptions o = transports[i].client;
    o.max_idle_connections = 0;
    fresh.push_back(std::make_unique<net::RpcClient>(net::Endpoint{"127.0.0.1", servers[i]->port()}, o));
  }
  std::vector<double> total_s(transports.size(), 0);
  const int kConnections = 2000;
  for (int round = 0; round < 20; ++round)
    for (size_t t = 0; t < fresh.size(); ++t) {
      const auto t0 = std::chrono::steady_clock::now();
      for (int i = 0; i < kConnections / 20; ++i) fresh[t]->Call(net::kStatsRequest, "", std::chrono::seconds(5));
      total_s[t] += std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    }
  std::printf("a new connection and one call (%d each, interleaved):", kConnections);
  for (size_t t = 0; t < transports.size(); ++t)
    std::printf(" %s %.1f us (%.2fx open);", transports[t].name, 1e6 * total_s[t] / kConnections,
                total_s[t] / total_s[0]);
  std::printf("\n");
}

// Latency while the shard behind `admin` re-embeds its profiles
// (versioned_shard.h) against idle: a first refresh alone gives its time T,
// a second runs under `clients` querying for 0.9 T.
void ReportRefreshLatency(net::RpcClient& admin, const std::string& encoder_dir, int clients, double seconds,
                          const std::function<void(int, uint64_t)>& query, const std::string& shard) {
  const auto refresh = [&] {
    proto::RefreshIndexRequest request;
    request.set_encoder_dir(encoder_dir);
    proto::RefreshIndexReply reply;
    PRLM_CHECK(reply.ParseFromString(
        admin.Call(net::kRefreshIndexRequest, request.SerializeAsString(), std::chrono::hours(1)).payload));
    PRLM_REQUIRE(reply.ok(), "the refresh failed: " << reply.error());
    return reply.seconds();
  };
  const RunStats idle = Drive(clients, seconds, query);
  const double alone_s = refresh();
  double loaded_s = 0;
  std::thread refreshing([&] { loaded_s = refresh(); });
  const RunStats during = Drive(clients, 0.9 * alone_s, query);
  refreshing.join();
  std::printf("refresh of %s: %.2f s alone, %.2f s with %d clients querying\n", shard.c_str(), alone_s, loaded_s,
              clients);
  std::printf(
      "%d clients: idle p50 %.1f us p99 %.1f us; during the refresh p50 %.1f us (%.2fx) p99 %.1f us "
      "(%.2fx); q/s %.0f -> %.0f\n",
      clients, idle.p50_us, idle.p99_us, during.p50_us, during.p50_us / idle.p50_us, during.p99_us,
      during.p99_us / idle.p99_us, idle.qps, during.qps);
}

// HNSW recall@k against the exact index over 2000 requests.
void ReportHnswRecall(const retrieval_shards::ShardIndex& index, int k,
                      const std::function<proto::RetrieveRequest(uint64_t)>& request_of) {
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

}  // namespace

int BenchRetrieval(int argc, char** argv) {
  options::Args args("bench retrieval",
                     "Queries/s and p50/p99 latency of one shard over loopback (k items, dense retriever, the\n"
                     "query embeddings precomputed) against FAISS searched in-process on the same per-user\n"
                     "indexes and embeddings, at several client counts; the same with a server that asks for no\n"
                     "secret (the handshake's cost on pooled connections) and with the secret inside TLS 1.3 (TLS's\n"
                     "cost); the cost of a new connection on each; and HNSW recall@k against exact.");
  args.Option("index", "DIR", "", "index built with dense (and dense_hnsw) retrievers", true)
      .Option("clients", "LIST", "1,8,32", "concurrent clients")
      .Option("seconds", "S", "3", "seconds per measurement")
      .Option("k", "K", "5", "items per query")
      .Option("retriever", "R", "dense", "dense or dense_hnsw")
      .Option("threads", "N", "2", "server worker threads")
      .Option("refresh-encoder", "DIR", "",
              "also: refresh the shard to this encoder (a BERT directory of the\n"
              "index's dimension) and compare p50/p99 during the refresh with idle");
  if (!args.Parse(argc, argv)) return 0;
  retrieval_shards::VersionedShard served(retrieval_shards::LoadShard(args.Get("index"), 0));
  const auto snapshot = served.Current();
  const auto& index = *snapshot.shard->index;
  const std::string retriever = args.Get("retriever");
  PRLM_REQUIRE(index.options().Has(retriever), "the index has no " << retriever << " retriever");
  const int k = args.GetInt("k"), dim = index.dense_dim();
  // 1. Queries: per user, a random unit vector (the cost does not depend on the text).
  const std::vector<std::string> users = index.user_ids();
  PRLM_REQUIRE(!users.empty(), "shard 0 has no users");
  const auto queries = RandomUnitQueries(dim, 1024);
  auto request_of = [&](uint64_t i) {
    proto::RetrieveRequest r;
    r.set_user_id(users[i % users.size()]);
    r.set_k(k);
    r.set_retriever(retriever);
    const auto& q = queries[i % queries.size()];
    r.mutable_query_embedding()->Add(q.begin(), q.end());
    return r;
  };
  // 2. One server per transport on this process's loopback: the job
  //    secret's handshake (as in a training job), none (the baseline of its
  //    cost), and the secret inside TLS (net.tls).
  std::vector<Transport> transports = BenchTransports(args.GetInt("threads"));
  std::vector<std::unique_ptr<net::RpcServer>> servers;
  std::vector<std::thread> serving;
  std::vector<std::unique_ptr<retrieval::RetrievalClient>> clients;
  for (auto& t : transports) {
    servers.push_back(std::make_unique<net::RpcServer>(t.server));
    retrieval_shards::RegisterRetrievalHandlers(*servers.back(), served);
    net::RpcServer* server = servers.back().get();
    serving.emplace_back([server] { server->Run(); });
    clients.push_back(std::make_unique<retrieval::RetrievalClient>(
        std::vector<net::Endpoint>{{"127.0.0.1", server->port()}}, t.client));
  }
  ReportConnectionCost(transports, servers);
  std::printf("shard 0: %zu users, %zu items, dim %d, k %d, retriever %s\n", users.size(), index.num_items(), dim, k,
              retriever.c_str());
  std::printf("%8s %10s %8s %8s %10s %8s %8s %8s %10s %8s %10s %8s %8s\n", "clients", "svc q/s", "p50 us", "p99 us",
              "faiss q/s", "p50 us", "p99 us", "q/s ratio", "open q/s", "secret/open", "tls q/s", "p50 us",
              "tls/secret");
  const double seconds = args.GetDouble("seconds");
  for (const int count : args.GetPositiveInts("clients")) {
    auto through = [&](size_t t) {
      return Drive(count, seconds, [&](int c, uint64_t i) {
        const auto r = clients[t]->RetrieveOne(request_of(i * 131 + c));
        PRLM_CHECK(r.error().empty() && r.items_size() > 0);
      });
    };
    const RunStats svc = through(1);
    const RunStats local = Drive(count, seconds, [&](int c, uint64_t i) {
      const auto req = request_of(i * 131 + c);
      const faiss::Index* idx = index.FaissIndex(req.user_id(), retriever == "dense_hnsw");
      float distances[1024];
      int64_t labels[1024];
      idx->search(1, req.query_embedding().data(), std::min<int64_t>(k, idx->ntotal), distances, labels);
    });
    const RunStats open = through(0), tls = through(2);
    std::printf("%8d %10.0f %8.1f %8.1f %10.0f %8.1f %8.1f %8.3f %10.0f %8.3f %10.0f %8.1f %8.3f\n", count, svc.qps,
                svc.p50_us, svc.p99_us, local.qps, local.p50_us, local.p99_us, svc.qps / local.qps, open.qps,
                svc.qps / open.qps, tls.qps, tls.p50_us, tls.qps / svc.qps);
  }
  // 3. Latency while the shard re-embeds its profiles, against idle, on the secret transport.
  if (args.Has("refresh-encoder")) {
    net::RpcClient admin({"127.0.0.1", servers[1]->port()}, transports[1].client);
    char shard[96];
    std::snprintf(shard, sizeof shard, "shard 0 (%zu users, %zu items)", users.size(), index.num_items());
    ReportRefreshLatency(
        admin, args.Get("refresh-encoder"), args.GetPositiveInts("clients").back(), seconds,
        [&](int c, uint64_t i) {
          const auto r = clients[1]->RetrieveOne(request_of(i * 131 + c));
          PRLM_CHECK(r.error().empty() && r.items_size() > 0);
        },
        shard);
  }
  for (auto& s : servers) s->Stop();
  for (auto& t : serving) t.join();
  // 4. HNSW recall@k against the exact index, when both were built.
  if (index.options().Has("dense") && index.options().Has("dense_hnsw")) ReportHnswRecall(index, k, request_of);
  return 0;
}

}  // namespace prlm::bench
