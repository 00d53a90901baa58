// prlm build-index / serve-retrieval / retrieve / refresh-index.
#include <cstdio>

#include "cli/commands.h"
#include "common/data/dataset.h"
#include "common/net/rpc_client.h"
#include "common/net/rpc_server.h"
#include "common/retrieval/index_refresh.h"
#include "common/retrieval/retrieval_client.h"
#include "common/util/check.h"
#include "options/args.h"
#include "options/config_flags.h"
#include "options/server_options.h"
#include "retrieval_shards/index_dir.h"
#include "retrieval_shards/retrieval_service.h"

namespace prlm::cli {

int RunBuildIndex(int argc, char** argv) {
  options::Args args("build-index",
                     "Partition users over S shards (fnv1a64(user_id) % S) and write each shard's\n"
                     "profiles and indexes to OUT/shard-NNNNN, with OUT/manifest.json.");
  retrieval_shards::IndexManifest m;
  args.Option("data", "DIR", "", "LaMP directory; every {train,dev,test,val} split found is indexed", true)
      .Option("task", "NAME", "", "task, when no outputs file names it")
      .Option("retriever", "LIST", "bm25",
              "indexes to build: bm25, dense, dense_hnsw, or 'all' (recency, random, none need none)")
      .Option("shards", "S", "1", "number of shards")
      .Bind("encoder", "DIR", &m.encoder.model_dir, "BERT model directory for dense retrievers")
      .Bind("pooling", "mean|cls", &m.encoder.pooling, "dense pooling")
      .Bind("max-length", "N", &m.encoder.max_length, "encoder max tokens per item")
      .Bind("k1", "X", &m.options.bm25.k1, "BM25 k1")
      .Bind("b", "X", &m.options.bm25.b, "BM25 b")
      .Bind("hnsw-m", "N", &m.options.hnsw_m, "HNSW neighbours per node")
      .Bind("hnsw-ef-construction", "N", &m.options.hnsw_ef_construction, "HNSW build beam")
      .Bind("hnsw-ef-search", "N", &m.options.hnsw_ef_search, "HNSW search beam")
      .Bind("seed", "N", &m.options.random_seed, "seed of the random retriever")
      .Option("out", "DIR", "", "output directory", true);
  if (!args.Parse(argc, argv)) return 0;
  const data::TaskSpec* task = data::TaskOrNull(args.Get("task"));
  // A split that cannot be read is left out with a warning: it must not hide the others.
  std::vector<std::string> failures;
  const std::vector<data::Dataset> splits = data::LoadLampSplits(args.Get("data"), task, &failures);
  for (const auto& f : failures)
    std::fprintf(stderr, "build-index: warning: split %s (left out: its users get no profile here)\n", f.c_str());
  std::vector<const data::Dataset*> ptrs;
  for (const auto& s : splits) ptrs.push_back(&s);
  PRLM_REQUIRE(args.GetInt("shards") >= 1, "--shards must be >= 1");
  m.num_shards = static_cast<uint32_t>(args.GetInt("shards"));
  m.options.built = args.Get("retriever") == "all" ? std::vector<std::string>{"bm25", "dense", "dense_hnsw"}
                                                   : options::SplitList(args.Get("retriever"));
  retrieval_shards::BuildIndex(ptrs, m, args.Get("out"), [](const std::string& line) {
    std::fprintf(stderr, "build-index: %s\n", line.c_str());
  });
  std::printf("wrote %s: %u shards\n", args.Get("out").c_str(), m.num_shards);
  return 0;
}

int RunServeRetrieval(int argc, char** argv) {
  options::Args args("serve-retrieval",
                     "Serve one shard of a retrieval index over TCP (length-prefixed protobuf frames).\n"
                     "SIGTERM / SIGINT drain in-flight requests and exit 0.");
  config::TrainConfig config;
  options::ConfigFlags flags(&config);
  flags.Map(args, "index", "retrieval.index").Map(args, "encoder", "retrieval.encoder");
  args.Option("shard", "I", "0", "which shard to serve");
  options::AddServerOptions(args, "threads", "request worker threads");
  if (!args.Parse(argc, argv)) return 0;
  flags.Apply(args, [&] { PRLM_REQUIRE(!config.retrieval.index.empty(), "retrieval.index is required (DIR)"); });
  auto shard = retrieval_shards::LoadShard(config.retrieval.index, static_cast<uint32_t>(args.GetInt("shard")),
                                           config.retrieval.encoder);
  const net::ServerOptions o = options::ServerOptionsFrom(args, "threads");
  std::printf("serve-retrieval: shard %u of %u (%zu users, %zu items)", shard.index->shard(), shard.index->num_shards(),
              shard.index->num_users(), shard.index->num_items());
  retrieval_shards::VersionedShard served(std::move(shard));
  net::RpcServer server(o);
  retrieval_shards::RegisterRetrievalHandlers(server, served);
  std::printf(" listening on %s:%u%s\n", o.host.c_str(), server.port(), o.tls.enabled() ? " (TLS 1.3)" : "");
  std::fflush(stdout);
  server.Run();
  std::printf("serve-retrieval: drained and stopped;%s\n", server.CountersLine().c_str());
  return 0;
}

int RunRetrieve(int argc, char** argv) {
  options::Args args("retrieve",
                     "Ask the retrieval tier for a user's top-k profile items (routes by user like the library).");
  config::TrainConfig config;
  options::ConfigFlags flags(&config);
  args.Option("server", "HOST:PORT[,...]", "", "shard endpoints in shard order", true)
      .Option("user", "ID", "", "user id", true)
      .Option("query", "TEXT", "", "query text");
  options::AddClientSecretOptions(args);
  flags.Map(args, "k", "retrieval.k")
      .Map(args, "retriever", "retrieval.retriever")
      .Map(args, "timeout-ms", "retrieval.timeout_ms");
  if (!args.Parse(argc, argv)) return 0;
  flags.Apply(args, [&] { config.retrieval.Validate(); });
  const config::RetrievalConfig& rc = config.retrieval;
  retrieval::RetrievalClient client(net::ParseEndpoints(args.Get("server")), options::ClientOptionsFrom(args),
                                    std::chrono::milliseconds(rc.timeout_ms));
  client.VerifyShards();
  const auto result = client.RetrieveOne(retrieval::RetrieveRequestFor(
      args.Get("user"), args.Get("query"), static_cast<uint32_t>(rc.k), std::string(config::NameOf(rc.retriever))));
  PRLM_REQUIRE(result.error().empty(), result.error());
  for (const auto& item : result.items()) {
    std::printf("%.6f\t%s", item.score(), item.id().c_str());
    if (!item.date().empty()) std::printf("\t%s", item.date().c_str());
    for (const auto& f : item.fields()) {
      std::string v = f.value().size() > 120 ? f.value().substr(0, 117) + "..." : f.value();
      std::printf("\t%s: %s", f.name().c_str(), v.c_str());
    }
    std::printf("\n");
  }
  return 0;
}

int RunRefreshIndex(int argc, char** argv) {
  options::Args args(
      "refresh-index",
      "Ask every shard server to re-embed its users' profiles with another BERT encoder (a directory on\n"
      "the shard's host, e.g. train-retriever's output) and serve the result as its next index version.\n"
      "Shards keep serving the old version until the new one is complete; a shard whose refresh fails\n"
      "keeps the old version and says why (exit 1). Shards refresh in parallel.");
  args.Option("server", "HOST:PORT[,...]", "", "shard endpoints", true)
      .Option("encoder", "DIR", "", "the new encoder directory", true)
      .Option("timeout-s", "S", "3600", "how long to wait for a shard");
  options::AddClientSecretOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  const auto outcomes =
      retrieval::RefreshShards(net::ParseEndpoints(args.Get("server")), options::ClientOptionsFrom(args),
                               args.Get("encoder"), std::chrono::seconds(args.GetInt("timeout-s")));
  int failed = 0;
  for (const auto& r : outcomes) {
    if (r.ok) {
      std::printf("%s: serving index version %llu (refreshed in %.1f s)\n", r.server.c_str(),
                  static_cast<unsigned long long>(r.index_version), r.seconds);
      continue;
    }
    ++failed;
    std::fprintf(stderr, "%s: refresh failed, %s\n", r.server.c_str(), r.error.c_str());
  }
  return failed == 0 ? 0 : 1;
}

}  // namespace prlm::cli
