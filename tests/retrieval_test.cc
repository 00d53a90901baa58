// The retrieval tier: BM25 against hand-computed scores, the exact dense index
// against brute-force inner products, sharded service results identical to
// unsharded in-process retrieval (S = 1, 2, 4), bad frames, SIGTERM drain.
#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <filesystem>
#include <map>
#include <thread>

#include "common/model/pretrained.h"
#include "common/net/rpc_client.h"
#include "common/net/rpc_server.h"
#include "common/retrieval/protocol.h"
#include "common/retrieval/retrieval_client.h"
#include "common/util/file.h"
#include "pipeline/synthetic.h"
#include "retrieval_shards/bm25.h"
#include "retrieval_shards/dense_encoder.h"
#include "retrieval_shards/index_dir.h"
#include "retrieval_shards/retrieval_service.h"
#include "tests/net_test_util.h"
#include "tests/test_util.h"

namespace prlm::retrieval {
namespace {

using prlm::testing::ClosedByServer;
using prlm::testing::ExpectErrorContaining;
using prlm::testing::RawConnect;
using prlm::testing::RawSend;
using prlm::testing::TempDir;
using prlm::testing::WriteBytes;

std::string EncoderDir() { return std::string(PRLM_SOURCE_DIR) + "/tests/fixtures/bert-tiny"; }

TEST(Bm25, HandComputedScores) {
  // N = 3, avgdl = 2. idf(a) = ln(1.5/2.5) < 0 -> floor 0.25 * mean idf;
  // idf(b) = idf(c) = idf(d) = ln(2.5/1.5).
  const retrieval_shards::Bm25 bm =
      retrieval_shards::Bm25::Build({"a b", "a c c", "d"}, retrieval_shards::Bm25Params{});
  const double hi = std::log(2.5 / 1.5), lo = std::log(1.5 / 2.5);
  const double floor = 0.25 * (lo + 3 * hi) / 4;
  const double k1 = 1.5, b = 0.75;
  auto term = [&](double idf, double tf, double len) {
    return idf * tf * (k1 + 1) / (tf + k1 * (1 - b + b * len / 2));
  };
  const auto s = bm.Scores("a c");
  ASSERT_EQ(s.size(), 3u);
  EXPECT_NEAR(s[0], term(floor, 1, 2), 1e-12);
  EXPECT_NEAR(s[1], term(floor, 1, 3) + term(hi, 2, 3), 1e-12);
  EXPECT_EQ(s[2], 0.0);
  // Repeated query tokens count again; unknown tokens add nothing.
  EXPECT_NEAR(bm.Scores("c c zzz")[1], 2 * term(hi, 2, 3), 1e-12);
  // Stored postings give the same scores.
  const retrieval_shards::Bm25 again =
      retrieval_shards::Bm25::FromProto(bm.ToProto("u"), retrieval_shards::Bm25Params{});
  EXPECT_EQ(again.Scores("a c"), s);
}

pipeline::SyntheticSplits SmallData() {
  pipeline::SyntheticOptions o;
  o.users = 24;
  o.min_profile = 6;
  o.max_profile = 14;
  o.seed = 3;
  return pipeline::MakeSynthetic(o);
}

TEST(DenseIndex, ExactEqualsBruteForceInnerProducts) {
  const auto data = SmallData();
  retrieval_shards::DenseEncoder encoder({EncoderDir(), "mean", 128, 16});
  retrieval_shards::IndexOptions opt;
  opt.built = {"dense", "dense_hnsw"};
  auto index = retrieval_shards::ShardIndex::Build(*data.train.task, retrieval_shards::GroupByUser({&data.train}), opt,
                                                   &encoder);
  const int d = encoder.dim();
  int checked = 0;
  for (const auto& ex : data.train.examples) {
    std::vector<std::string> corpus;
    for (const auto& item : ex.profile) corpus.push_back(data::CorpusText(*data.train.task, item));
    const auto items = encoder.Embed(corpus);
    const auto q = encoder.Embed({ex.query});
    std::vector<std::pair<double, uint32_t>> brute;
    for (size_t i = 0; i < corpus.size(); ++i) {
      double dot = 0, norm = 0;
      for (int j = 0; j < d; ++j) dot += q[j] * items[i * d + j], norm += items[i * d + j] * items[i * d + j];
      EXPECT_NEAR(norm, 1.0, 1e-5);  // L2-normalised
      brute.emplace_back(dot, static_cast<uint32_t>(i));
    }
    std::sort(brute.begin(), brute.end(), [](auto& a, auto& b) { return a.first > b.first; });
    proto::RetrieveRequest r;
    r.set_user_id(ex.user_id);
    r.set_query(ex.query);
    r.set_k(5);
    r.set_retriever("dense");
    const auto result = index->Retrieve(r);
    ASSERT_TRUE(result.error().empty()) << result.error();
    ASSERT_EQ(result.items_size(), 5);
    for (int i = 0; i < 5; ++i) {
      EXPECT_NEAR(result.items(i).score(), brute[i].first, 1e-5);
      if (std::abs(brute[i].first - brute[i + 1].first) > 1e-5 &&
          (i == 0 || std::abs(brute[i].first - brute[i - 1].first) > 1e-5)) {
        EXPECT_EQ(result.items(i).position(), brute[i].second);  // unambiguous rank
      }
    }
    r.set_retriever("dense_hnsw");
    EXPECT_EQ(index->Retrieve(r).items_size(), 5);
    ++checked;
  }
  EXPECT_GT(checked, 10);
}

// Runs S shard servers over a built index, each on its own thread.
struct ShardServers {
  std::vector<std::unique_ptr<retrieval_shards::VersionedShard>> shards;
  std::vector<std::unique_ptr<net::RpcServer>> servers;
  std::vector<std::thread> threads;
  std::vector<net::Endpoint> endpoints;
  ShardServers(const std::string& dir, uint32_t n) {
    for (uint32_t s = 0; s < n; ++s) {
      shards.push_back(std::make_unique<retrieval_shards::VersionedShard>(retrieval_shards::LoadShard(dir, s)));
      servers.push_back(std::make_unique<net::RpcServer>(net::ServerOptions{}));
      retrieval_shards::RegisterRetrievalHandlers(*servers.back(), *shards.back());
      endpoints.push_back({"127.0.0.1", servers.back()->port()});
    }
    for (auto& s : servers) threads.emplace_back([&s] { s->Run(); });
  }
  ~ShardServers() {
    for (auto& s : servers) s->Stop();
    for (auto& t : threads) t.join();
  }
};

TEST(ShardedRetrieval, ServiceResultsEqualUnshardedInProcess) {
  const auto data = SmallData();
  retrieval_shards::DenseEncoder encoder({EncoderDir(), "mean", 128, 64});
  retrieval_shards::IndexManifest base;
  base.options.built = {"bm25", "dense", "dense_hnsw"};
  base.encoder = encoder.options();
  const std::vector<const data::Dataset*> all = {&data.train, &data.dev, &data.test};
  auto reference =
      retrieval_shards::ShardIndex::Build(*data.train.task, retrieval_shards::GroupByUser(all), base.options, &encoder);

  std::vector<proto::RetrieveRequest> requests;
  for (const auto* ds : all)
    for (const auto& ex : ds->examples)
      for (const auto& r : RetrieverNames()) requests.push_back(RetrieveRequestFor(ex.user_id, ex.query, 5, r));
  for (uint32_t shards : {1u, 2u, 4u}) {
    SCOPED_TRACE("shards = " + std::to_string(shards));
    TempDir dir;
    retrieval_shards::IndexManifest m = base;
    m.num_shards = shards;
    retrieval_shards::BuildIndex(all, m, dir.str(), [](const std::string&) {});
    ShardServers servers(dir.str(), shards);
    RetrievalClient client(servers.endpoints);
    EXPECT_EQ(client.VerifyShards().size(), shards);
    const auto results = client.Retrieve(requests);
    ASSERT_EQ(results.size(), requests.size());
    size_t items = 0;
    for (size_t i = 0; i < requests.size(); ++i) {
      const auto expected = reference->Retrieve(requests[i]);
      ASSERT_TRUE(results[i].error().empty()) << results[i].error();
      ASSERT_EQ(results[i].items_size(), expected.items_size()) << requests[i].retriever();
      for (int j = 0; j < expected.items_size(); ++j) {
        EXPECT_EQ(results[i].items(j).id(), expected.items(j).id()) << requests[i].retriever();
        EXPECT_EQ(results[i].items(j).score(), expected.items(j).score()) << requests[i].retriever();
      }
      items += expected.items_size();
    }
    EXPECT_GT(items, requests.size() * 3);
    // A user on another shard is an error reply, not a crash.
    if (shards > 1) {
      net::RpcClient direct(servers.endpoints[0]);
      proto::RetrieveBatch batch;
      for (const auto& r : requests) *batch.add_requests() = r;
      proto::RetrieveBatchReply reply;
      ASSERT_TRUE(reply.ParseFromString(
          direct.Call(kRetrieveBatch, batch.SerializeAsString(), std::chrono::seconds(5)).payload));
      int foreign = 0;
      for (const auto& r : reply.results()) foreign += r.error().find("is not on shard 0") != std::string::npos;
      EXPECT_GT(foreign, 0);
    }
  }
  proto::RetrieveRequest bad;
  bad.set_user_id(requests[0].user_id());
  bad.set_retriever("magic");
  EXPECT_NE(reference->Retrieve(bad).error().find("unknown retriever 'magic'"), std::string::npos);
}

// retrieval.replicas: each shard served twice; calls start on replica
// `preferred`, and when both first replicas stop, every shard's calls move
// to its other replica: the same results, the moves named once each, no call
// lost. A list in the wrong order, or not whole replicas, is refused.
TEST(ShardedRetrieval, AShardsCallsMoveToItsOtherReplicaWhenOneStops) {
  const auto data = SmallData();
  TempDir dir;
  retrieval_shards::IndexManifest m;
  m.options.built = {"bm25"};
  m.num_shards = 2;
  const std::vector<const data::Dataset*> all = {&data.train, &data.dev, &data.test};
  retrieval_shards::BuildIndex(all, m, dir.str(), [](const std::string&) {});
  std::vector<proto::RetrieveRequest> requests;
  for (const auto& ex : data.test.examples) requests.push_back(RetrieveRequestFor(ex.user_id, ex.query, 3, "bm25"));
  auto first = std::make_unique<ShardServers>(dir.str(), 2);
  ShardServers second(dir.str(), 2);
  std::vector<net::Endpoint> endpoints = first->endpoints;
  endpoints.insert(endpoints.end(), second.endpoints.begin(), second.endpoints.end());
  RetrievalClient client(endpoints, {}, std::chrono::milliseconds(2000), {1}, /*replicas=*/2, /*preferred=*/0);
  EXPECT_EQ(client.num_shards(), 2u);
  EXPECT_EQ(client.VerifyShards().size(), 2u);
  const auto before = client.Retrieve(requests);
  EXPECT_TRUE(client.TakeFailedServers().empty());
  const std::vector<std::string> gone = {first->endpoints[0].ToString(), first->endpoints[1].ToString()};
  first.reset();
  const auto after = client.Retrieve(requests);
  ASSERT_EQ(after.size(), before.size());
  size_t items = 0;
  for (size_t i = 0; i < before.size(); ++i) {
    ASSERT_TRUE(after[i].error().empty()) << after[i].error();
    ASSERT_EQ(after[i].items_size(), before[i].items_size());
    for (int j = 0; j < before[i].items_size(); ++j) EXPECT_EQ(after[i].items(j).id(), before[i].items(j).id());
    items += before[i].items_size();
  }
  EXPECT_GT(items, requests.size());
  auto failed = client.TakeFailedServers();
  std::sort(failed.begin(), failed.end());
  auto expected = gone;
  std::sort(expected.begin(), expected.end());
  EXPECT_EQ(failed, expected) << "each shard's first replica named once";
  EXPECT_EQ(client.retry_counters().failures, 0) << "no call gave up";
  client.Retrieve(requests);
  EXPECT_TRUE(client.TakeFailedServers().empty()) << "later calls go to the replicas that answer";
  // Replica 1 listed as both shards' only server: shard 1's endpoint says 1.
  RetrievalClient swapped({second.endpoints[1], second.endpoints[0]});
  ExpectErrorContaining([&] { swapped.VerifyShards(); }, {"serves shard 1 but is listed as shard 0"});
  ExpectErrorContaining(
      [&] {
        RetrievalClient({second.endpoints[0], second.endpoints[1]}, {}, {}, {1}, 3);
      },
      {"not 3 replicas of each shard"});
}

TEST(RetrievalService, BadFramesCloseOnlyTheirConnection) {
  const auto data = SmallData();
  TempDir dir;
  retrieval_shards::IndexManifest m;
  m.options.built = {"bm25"};
  retrieval_shards::BuildIndex({&data.train}, m, dir.str(), [](const std::string&) {});
  retrieval_shards::VersionedShard shard(retrieval_shards::LoadShard(dir.str(), 0));
  net::ServerOptions o;
  o.max_frame_bytes = 1 << 16;
  o.idle_timeout_s = 1;
  net::RpcServer server(o);
  retrieval_shards::RegisterRetrievalHandlers(server, shard);
  std::thread run([&] { server.Run(); });

  RetrievalClient good({{"127.0.0.1", server.port()}});
  proto::RetrieveRequest q;
  q.set_user_id(data.train.examples[0].user_id);
  q.set_query(data.train.examples[0].query);
  q.set_k(3);
  const auto before = good.RetrieveOne(q);
  ASSERT_EQ(before.items_size(), 3);
  // A user id over its size limit gets an error result (not echoing it), counted (docs/security.md).
  proto::RetrieveRequest huge = q;
  huge.set_user_id(std::string(kMaxUserIdBytes + 1, 'u'));
  const auto refused = good.RetrieveOne(huge);
  EXPECT_NE(refused.error().find("user id is over the limit of 1024 bytes"), std::string::npos) << refused.error();
  EXPECT_EQ(refused.error().find("uuuu"), std::string::npos);
  EXPECT_EQ(server.Counters().at("retrieval_over_limit"), 1u);
  auto expect_same = [&] {
    const auto r = good.RetrieveOne(q);
    ASSERT_EQ(r.items_size(), 3);
    EXPECT_EQ(r.items(0).id(), before.items(0).id());
  };

  // A stalled, truncated frame stays open while others are served.
  const int stalled = RawConnect(server.port());
  RawSend(stalled, net::EncodeFrame(kRetrieveBatch, 1, std::string(100, 'x')).substr(0, 30));
  expect_same();
  // Garbage, an oversized length, an unknown type, a payload that is not a message.
  const std::string cases[] = {
      std::string("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
      net::EncodeFrame(kRetrieveBatch, 2, "").substr(0, 4) + std::string("\xff\xff\xff\xf0", 4) + std::string(8, '\0'),
      net::EncodeFrame(999, 3, "hello"),
      net::EncodeFrame(kRetrieveBatch, 4, std::string("\xff\xff\xff\xff\xff", 5)),
  };
  for (const auto& bytes : cases) {
    const int fd = RawConnect(server.port());
    RawSend(fd, bytes);
    EXPECT_TRUE(ClosedByServer(fd));
    ::close(fd);
    expect_same();
  }
  // Truncated then closed by the client.
  {
    const int fd = RawConnect(server.port());
    RawSend(fd, net::EncodeFrame(kRetrieveBatch, 5, std::string(50, 'y')).substr(0, 20));
    ::close(fd);
  }
  EXPECT_TRUE(ClosedByServer(stalled));  // the idle timeout closed it
  ::close(stalled);
  expect_same();
  const auto c = server.Counters();
  EXPECT_EQ(c.at("bad_magic"), 1u);
  EXPECT_EQ(c.at("oversized"), 1u);
  EXPECT_EQ(c.at("unknown_type"), 1u);
  EXPECT_EQ(c.at("bad_payload"), 1u);
  // At least the two cut frames; a loaded machine (1 s idle timeout) may stall a good one too.
  EXPECT_GE(c.at("truncated"), 2u);
  EXPECT_GE(c.at("frames_served"), 7u);
  server.Stop();
  run.join();
}

// A copy of the BERT fixture with re-drawn weights: another encoder of the same shape.
std::string OtherEncoder(const std::string& dir) {
  auto bert = model::LoadBert(EncoderDir());
  model::InitializeWeights(*bert, 0.2, 99);
  model::SaveBert(bert, dir);
  std::filesystem::copy_file(EncoderDir() + "/tokenizer.json", dir + "/tokenizer.json");
  return dir;
}

TEST(VersionedShard, RefreshUnderLoadLosesNoRequestAndEveryReplyIsTheOldOrTheNewVersion) {
  const auto data = SmallData();
  TempDir dir;
  retrieval_shards::IndexManifest m;
  m.options.built = {"bm25", "dense"};
  m.encoder = {EncoderDir(), "mean", 128, 64};
  retrieval_shards::BuildIndex({&data.train}, m, dir.str(), [](const std::string&) {});
  retrieval_shards::VersionedShard shard(retrieval_shards::LoadShard(dir.str(), 0));
  net::RpcServer server(net::ServerOptions{});
  retrieval_shards::RegisterRetrievalHandlers(server, shard);
  std::thread run([&] { server.Run(); });
  std::vector<proto::RetrieveRequest> requests;
  for (const auto& ex : data.train.examples)
    for (const char* r : {"dense", "bm25"}) requests.push_back(RetrieveRequestFor(ex.user_id, ex.query, 3, r));
  // Clients query throughout: before, during and after the refresh.
  std::atomic<bool> stop{false};
  std::atomic<uint64_t> asked{0}, answered{0}, failed{0}, newest_seen{0};
  std::map<uint64_t, uint64_t> by_version[3];
  std::vector<std::thread> clients;
  for (int c = 0; c < 3; ++c)
    clients.emplace_back([&, c] {
      RetrievalClient client({{"127.0.0.1", server.port()}});
      for (size_t i = c; !stop; i = (i + 3) % requests.size()) {
        ++asked;
        try {
          const auto result = client.RetrieveOne(requests[i]);
          if (!result.error().empty() || result.items_size() != 3) ++failed;
          ++by_version[c][result.index_version()];
          newest_seen = std::max<uint64_t>(newest_seen, result.index_version());
          ++answered;
        } catch (const std::exception&) {
          ++failed;
        }
      }
    });
  while (answered < 20) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  net::RpcClient admin({"127.0.0.1", server.port()});
  const auto refresh = [&](const std::string& encoder_dir) {
    proto::RefreshIndexRequest request;
    request.set_encoder_dir(encoder_dir);
    const auto frame = admin.Call(kRefreshIndexRequest, request.SerializeAsString(), std::chrono::seconds(120));
    proto::RefreshIndexReply reply;
    EXPECT_TRUE(reply.ParseFromString(frame.payload));
    return reply;
  };
  TempDir other;
  const auto done = refresh(OtherEncoder(other.str()));
  EXPECT_TRUE(done.ok()) << done.error();
  EXPECT_EQ(done.index_version(), 2u);
  const uint64_t at_swap = answered;
  while (answered < at_swap + 20) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // A corrupted encoder: the refresh fails, says why, and version 2 keeps serving.
  TempDir broken;
  const std::string bad = OtherEncoder(broken.str());
  WriteBytes(bad + "/model.safetensors", "not a safetensors file at all");
  const auto refused = refresh(bad);
  EXPECT_FALSE(refused.ok());
  EXPECT_EQ(refused.index_version(), 2u);
  EXPECT_NE(refused.error().find("model.safetensors"), std::string::npos) << refused.error();
  const uint64_t at_refusal = answered;
  while (answered < at_refusal + 20) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  stop = true;
  for (auto& t : clients) t.join();
  server.Stop();
  run.join();
  EXPECT_EQ(failed.load(), 0u);
  EXPECT_EQ(answered.load(), asked.load()) << "a request was lost";
  uint64_t old_version = 0, new_version = 0;
  for (const auto& counts : by_version)
    for (const auto& [version, n] : counts) {
      EXPECT_TRUE(version == 1 || version == 2) << "version " << version;
      (version == 1 ? old_version : new_version) += n;
    }
  EXPECT_GT(old_version, 0u);
  EXPECT_GT(new_version, 0u);
  EXPECT_EQ(newest_seen.load(), 2u);
  // The new version is the new encoder's.
  const auto now = shard.Current();
  EXPECT_EQ(now.version, 2u);
  EXPECT_EQ(now.shard->manifest.encoder.model_dir, other.str());
}

TEST(RetrievalService, SigtermDrainsAndExitsZero) {
  const auto data = SmallData();
  TempDir dir;
  pipeline::WriteLampSplit(data.train, dir / "data", "train");
  const std::string prlm = PRLM_BINARY;
  ASSERT_EQ(
      std::system(
          (prlm + " build-index --data " + dir / "data" + " --out " + dir / "index" + " > /dev/null 2>&1").c_str()),
      0);
  // Start the server, read its port, query it, SIGTERM it, collect its exit code.
  const std::string script = "set -e; " + prlm + " make-secret --out " + dir / "secret" + " > /dev/null; " + prlm +
                             " serve-retrieval --secret-file " + dir / "secret" + " --index " + dir / "index" + " > " +
                             dir / "log" + " 2>&1 & pid=$!; " + "for i in $(seq 100); do grep -q listening " +
                             dir / "log" + " && break; sleep 0.1; done; " +
                             "port=$(sed -n 's/.*listening on 127.0.0.1:\\([0-9]*\\).*/\\1/p' " + dir / "log" + "); " +
                             prlm + " retrieve --secret-file " + dir / "secret" + " --server 127.0.0.1:$port --user " +
                             data.train.examples[0].user_id + " --query x --k 2 > " + dir / "out" +
                             "; kill -TERM $pid; wait $pid; echo rc=$? >> " + dir / "log";
  WriteBytes(dir / "run.sh", script);
  ASSERT_EQ(std::system(("bash " + dir / "run.sh").c_str()), 0);
  const std::string log = util::ReadFile(dir / "log");
  EXPECT_NE(log.find("drained and stopped"), std::string::npos) << log;
  EXPECT_NE(log.find("rc=0"), std::string::npos) << log;
  EXPECT_NE(util::ReadFile(dir / "out").find(data.train.examples[0].user_id + "-p"), std::string::npos);
}

}  // namespace
}  // namespace prlm::retrieval
