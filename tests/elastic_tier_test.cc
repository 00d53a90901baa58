// The elastic rollout tier's parts, over loopback with the job secret
// (docs/elastic.md):
//  - the weight relay (comm/weight_relay.h): a version published by one store
//    reaches the third store of a chain bit for bit while the second still
//    fetches it (pipelined), and the first sends one copy; a size mismatch
//    and a forgotten version are named;
//  - the gateway (coordinator/rollout_gateway.h) with two workers played by
//    hand: weights before work, a silent worker's item re-issued to the
//    other and the silent one named once, results in item order, its late
//    result dropped, a forgotten worker told to join again, steps posted
//    ahead (grpo.max_staleness >= 2) handed out oldest first with their
//    own versions and collected one by one, a step with no worker ending
//    with a message that says so, and STOP for everyone.
#include <gtest/gtest.h>

#include <future>
#include <random>
#include <thread>

#include "common/comm/weight_delta.h"
#include "common/comm/weight_relay.h"
#include "common/net/message_types.h"
#include "coordinator/rollout_gateway.h"
#include "proto/rollout_gateway.pb.h"
#include "tests/server_test_util.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

using std::chrono::milliseconds;
const std::string kSecret(32, 's');

net::ClientOptions Client() {
  net::ClientOptions o;
  o.secret = kSecret;
  return o;
}
net::Endpoint Local(uint16_t port) { return {"127.0.0.1", port}; }

std::vector<torch::Tensor> SomeWeights(int64_t seed) {
  torch::manual_seed(seed);
  return {torch::randn({300, 7}), torch::randn({1001}).to(torch::kBFloat16), torch::randn({3, 5, 2})};
}
std::vector<torch::Tensor> ZerosLike(const std::vector<torch::Tensor>& ts) {
  std::vector<torch::Tensor> out;
  for (const auto& t : ts) out.push_back(torch::zeros_like(t));
  return out;
}

TEST(WeightRelay, AChainDeliversAVersionBitForBitWhileItArrivesAndTheHeadSendsOneCopy) {
  const auto weights = SomeWeights(1);
  comm::WeightStore head(1024), middle(1024), tail(1024);  // ~15 chunks
  head.Publish(7, weights);
  net::SecureServer head_server(net::SecureServer::Options(kSecret, 60),
                                [&](net::RpcServer& s) { comm::ServeWeights(s, head, milliseconds(10000)); });
  net::SecureServer middle_server(net::SecureServer::Options(kSecret, 60),
                                  [&](net::RpcServer& s) { comm::ServeWeights(s, middle, milliseconds(10000)); });
  // The tail asks the middle first: it waits for chunks still on their way.
  auto tail_fetch = std::async(std::launch::async, [&] {
    net::RpcClient from(Local(middle_server.server.port()), Client());
    return comm::FetchWeights(from, 7, &tail, milliseconds(20000));
  });
  std::this_thread::sleep_for(milliseconds(100));
  net::RpcClient from_head(Local(head_server.server.port()), Client());
  const uint64_t bytes = comm::FetchWeights(from_head, 7, &middle, milliseconds(20000));
  EXPECT_EQ(tail_fetch.get(), bytes);
  EXPECT_EQ(bytes, 300u * 7 * 4 + 1001 * 2 + 30 * 4);
  EXPECT_EQ(head.bytes_served(), bytes) << "the head sends one copy however many fetch";
  auto received = ZerosLike(weights);
  tail.CopyInto(7, received);
  for (size_t i = 0; i < weights.size(); ++i) EXPECT_TRUE(torch::equal(received[i], weights[i])) << "tensor " << i;
}

TEST(WeightDelta, ChangedWordsRoundTripAndMalformedDeltasAreNamed) {
  std::mt19937_64 rng(5);
  std::string base(100000, '\0');
  for (auto& c : base) c = static_cast<char>(rng());
  std::string next = base;
  // Changes at the first and last word, gaps of 1, 200 (two-byte varint)
  // and 40000 (three-byte) words, and a word whose high byte alone changes.
  for (size_t w : {size_t{0}, size_t{1}, size_t{201}, size_t{40201}, size_t{49999}}) next[2 * w] ^= 0x5a;
  next[2 * 30000 + 1] ^= 0x01;
  std::string delta;
  ASSERT_TRUE(comm::EncodeWordDelta(base, next, base.size(), &delta));
  EXPECT_EQ(delta.size(), 6u * 2 + (1 + 1 + 2 + 3 + 2 + 2)) << "a value per changed word, and its gap's varint";
  EXPECT_EQ(comm::ApplyWordDelta(base, delta), next);
  std::string none;
  ASSERT_TRUE(comm::EncodeWordDelta(base, base, base.size(), &none));
  EXPECT_EQ(none, "") << "nothing changed, nothing sent";
  std::string capped;
  EXPECT_FALSE(comm::EncodeWordDelta(base, next, 20, &capped)) << "23 bytes do not fit under 20: given up";
  testing::ExpectErrorContaining([&] { comm::ApplyWordDelta(base, delta.substr(0, delta.size() - 1)); }, {"cut off"});
  testing::ExpectErrorContaining([&] { comm::ApplyWordDelta(base, std::string("\x80", 1)); }, {"truncated gap"});
  testing::ExpectErrorContaining([&] { comm::ApplyWordDelta(base, std::string("\xd0\x86\x03ab", 5)); },
                                 {"past the chunk"});  // gap 50000 = the chunk's word count
}

// rollout.delta_sync: each version after the first as the 16-bit words that
// changed; after many deltas the tail holds every version bit for bit
// (chunks of 1 KiB: the tensors straddle chunk boundaries), and a delta that
// does not apply to its base fails the chunk's CRC-32C.
TEST(WeightRelay, DeltasAcrossChunkBoundariesLeaveEveryVersionBitForBit) {
  comm::WeightStore head(1024, 3), tail(1024, 3);
  net::SecureServer head_server(net::SecureServer::Options(kSecret, 60),
                                [&](net::RpcServer& s) { comm::ServeWeights(s, head, milliseconds(10000)); });
  net::RpcClient from(Local(head_server.server.port()), Client());
  auto weights = SomeWeights(3);  // fp32, bf16, fp32
  uint64_t full = 0, sent = 0;
  for (int64_t v = 0; v < 12; ++v) {
    if (v > 0) {  // a small update: every fp32 weight moves a little, few bf16 words change
      torch::NoGradGuard no_grad;
      weights[0].mul_(1 + 1e-5);
      weights[1].index_put_({torch::randint(1001, {20})}, torch::randn({20}).to(torch::kBFloat16));
      weights[2].add_(1e-6);
    }
    head.Publish(v, weights);
    const uint64_t bytes = comm::FetchWeights(from, v, &tail, milliseconds(20000), /*base=*/v - 1);
    auto received = ZerosLike(weights);
    tail.CopyInto(v, received);
    for (size_t i = 0; i < weights.size(); ++i) ASSERT_TRUE(torch::equal(received[i], weights[i])) << "v" << v;
    EXPECT_EQ(tail.Bytes(v), head.Bytes(v));
    if (v > 0) full += head.Bytes(v).size(), sent += bytes;
  }
  EXPECT_LT(sent, full * 8 / 10) << "high words of slightly moved fp32 weights and unchanged bf16 words stay home";
  // A delta against the wrong base: the applied bytes fail the CRC-32C.
  head.Publish(12, weights);
  proto::WeightChunk c = head.Chunk(12, 0, milliseconds(0), /*base=*/11);
  ASSERT_TRUE(c.delta());
  c.set_base_version(10);
  testing::ExpectErrorContaining([&] { tail.Put(c); }, {"chunk 0", "CRC-32C", "against v10"});
}

TEST(WeightRelay, ASizeMismatchAndAForgottenVersionAreNamed) {
  comm::WeightStore store(4096);
  for (int64_t v = 1; v <= 3; ++v) store.Publish(v, SomeWeights(v));
  std::vector<torch::Tensor> other = {torch::zeros({10})};
  testing::ExpectErrorContaining([&] { store.CopyInto(3, other); }, {"a different model"});
  testing::ExpectErrorContaining([&] { store.Chunk(1, 0, milliseconds(10)); }, {"holds v2"});
  testing::ExpectErrorContaining([&] { store.Chunk(3, 999, milliseconds(10)); }, {"no chunk 999"});
  EXPECT_EQ(store.Chunk(2, 0, milliseconds(10)).version(), 2) << "the newest two are kept";
  // Learner 0's store at grpo.max_staleness 2 keeps three; a worker's store
  // that opens an older version again (a re-issued item) forgets the least
  // recently opened, not the version it is fetching.
  comm::WeightStore three(4096, 3);
  for (int64_t v = 1; v <= 4; ++v) three.Publish(v, SomeWeights(v));
  EXPECT_EQ(three.Chunk(2, 0, milliseconds(10)).version(), 2);
  testing::ExpectErrorContaining([&] { three.Chunk(1, 0, milliseconds(10)); }, {"holds v2"});
  comm::WeightStore worker(4096);
  for (int64_t v : {3, 4}) worker.Put(three.Chunk(v, 0, milliseconds(10)));
  worker.Put(three.Chunk(2, 0, milliseconds(10)));
  EXPECT_EQ(worker.FirstMissing(2), 1u) << "v2 is being fetched again";
  EXPECT_EQ(worker.FirstMissing(3), 0u) << "v3 was opened least recently: forgotten";
  EXPECT_EQ(worker.FirstMissing(4), 1u);
}

// One worker played by hand against the gateway.
class FakeWorker {
 public:
  FakeWorker(uint16_t port, const std::string& name) : client_(Local(port), Client()) {
    proto::JoinRequest j;
    j.set_name(name);
    j.set_weights_address("127.0.0.1:1" + std::to_string(name.size()));
    proto::JoinReply reply;
    EXPECT_TRUE(
        reply.ParseFromString(client_.Call(net::kJoinRequest, j.SerializeAsString(), milliseconds(5000)).payload));
    name_ = reply.name();
    config_ = reply.config_yaml();
  }
  proto::WorkReply Ask(int64_t holds) {
    proto::WorkRequest r;
    r.set_name(name_);
    r.set_weight_version(holds);
    proto::WorkReply reply;
    EXPECT_TRUE(
        reply.ParseFromString(client_.Call(net::kWorkRequest, r.SerializeAsString(), milliseconds(10000)).payload));
    return reply;
  }
  proto::RenewReply Renew() {
    proto::RenewRequest r;
    r.set_name(name_);
    proto::RenewReply reply;
    EXPECT_TRUE(
        reply.ParseFromString(client_.Call(net::kRenewRequest, r.SerializeAsString(), milliseconds(5000)).payload));
    return reply;
  }
  bool Result(uint64_t item, int64_t step, const std::string& tag) {
    proto::ItemResult r;
    r.set_name(name_);
    r.set_item(item);
    r.mutable_result()->set_step(step);
    r.mutable_result()->add_groups()->set_error(tag);
    proto::ItemResultReply reply;
    EXPECT_TRUE(
        reply.ParseFromString(client_.Call(net::kItemResult, r.SerializeAsString(), milliseconds(5000)).payload));
    return reply.kept();
  }
  const std::string& name() const { return name_; }
  const std::string& config() const { return config_; }

 private:
  net::RpcClient client_;
  std::string name_, config_;
};

std::unique_ptr<coordinator::RolloutGateway> MakeGateway(milliseconds lease,
                                                         milliseconds item_timeout = milliseconds(0),
                                                         bool partial_rollouts = false) {
  coordinator::GatewayOptions o;
  o.partial_rollouts = partial_rollouts;
  o.lease = lease;
  o.item_timeout = item_timeout;
  o.config_yaml = "model: {policy: /p}\n";
  o.learner_weights = "127.0.0.1:9";
  o.poll = milliseconds(200);
  return std::make_unique<coordinator::RolloutGateway>(
      std::make_unique<net::RpcServer>(net::SecureServer::Options(kSecret, 60)), o);
}
std::vector<proto::RolloutWork> Items(int64_t step, int n) {
  std::vector<proto::RolloutWork> items(n);
  for (int i = 0; i < n; ++i) {
    items[i].set_step(step);
    items[i].add_prompts()->set_index(100 + i);
  }
  return items;
}

TEST(RolloutGateway, ASilentWorkersItemGoesToTheOtherAndResultsComeInItemOrder) {
  auto gateway = MakeGateway(milliseconds(3000));  // long enough that a busy machine does not lose a by chance
  FakeWorker a(gateway->port(), "a"), b(gateway->port(), "a");
  EXPECT_EQ(a.name(), "a");
  EXPECT_EQ(b.name(), "a#2") << "names are made unique";
  EXPECT_EQ(a.config(), "model: {policy: /p}\n");
  EXPECT_EQ(a.Ask(-1).kind(), proto::WorkReply::WAIT) << "nothing posted: the ask is held, then WAIT";
  gateway->Post(4, 3, Items(4, 2));
  // Weights first: the first worker of the chain fetches from learner 0, the
  // next from the worker before it (which is fetching the same version).
  const auto wa = a.Ask(-1);
  ASSERT_EQ(wa.kind(), proto::WorkReply::WEIGHTS);
  EXPECT_EQ(wa.weight_version(), 3);
  EXPECT_EQ(wa.weight_source(), "127.0.0.1:9");
  const auto wb = b.Ask(2);
  ASSERT_EQ(wb.kind(), proto::WorkReply::WEIGHTS) << "v2 is not the posted version";
  EXPECT_EQ(wb.weight_source(), "127.0.0.1:11") << "a is fetching v3: b fetches from a";
  const auto item_a = a.Ask(3);
  ASSERT_EQ(item_a.kind(), proto::WorkReply::WORK);
  EXPECT_EQ(item_a.item(), 0u);
  EXPECT_EQ(item_a.work().prompts(0).index(), 100u);
  // a falls silent; b runs item 1, then gets item 0 once a's lease runs out.
  const auto item_b = b.Ask(3);
  ASSERT_EQ(item_b.item(), 1u);
  EXPECT_TRUE(b.Result(1, 4, "b1"));
  auto collected = std::async(std::launch::async, [&] { return gateway->Collect(4, milliseconds(20000)); });
  proto::WorkReply again;
  for (int i = 0; i < 100 && again.kind() != proto::WorkReply::WORK; ++i) again = b.Ask(3);
  ASSERT_EQ(again.kind(), proto::WorkReply::WORK);
  EXPECT_EQ(again.item(), 0u) << "the lost worker's item, re-issued";
  EXPECT_TRUE(b.Result(0, 4, "b0"));
  const auto c = collected.get();
  ASSERT_EQ(c.results.size(), 2u);
  EXPECT_EQ(c.results[0].groups(0).error(), "b0");
  EXPECT_EQ(c.results[1].groups(0).error(), "b1");
  EXPECT_EQ(c.reissued, 1);
  EXPECT_EQ(c.lost, std::vector<std::string>{"a"});
  EXPECT_EQ(c.workers, 1);
  EXPECT_FALSE(a.Result(0, 4, "late")) << "a result after the step is dropped";
  EXPECT_EQ(a.Ask(3).kind(), proto::WorkReply::UNKNOWN) << "a lost worker must join again";
  // STOP for everyone still there.
  auto stopping = std::async(std::launch::async, [&] { gateway->Stop(milliseconds(10000)); });
  EXPECT_EQ(b.Ask(3).kind(), proto::WorkReply::STOP);
  stopping.get();
}

TEST(RolloutGateway, AnOverdueItemGoesToAnotherWorkerWhileItsHolderStillCounts) {
  // The holder is not lost (a 10 s lease) but sits on its item past the
  // 1 s rollout.item_timeout_s: the other worker gets it too.
  auto gateway = MakeGateway(milliseconds(10000), milliseconds(1000));
  FakeWorker a(gateway->port(), "a"), b(gateway->port(), "b");
  gateway->Post(0, 0, Items(0, 1));
  ASSERT_EQ(a.Ask(0).kind(), proto::WorkReply::WORK);
  auto collected = std::async(std::launch::async, [&] { return gateway->Collect(0, milliseconds(20000)); });
  proto::WorkReply again;
  for (int i = 0; i < 100 && again.kind() != proto::WorkReply::WORK; ++i) again = b.Ask(0);
  ASSERT_EQ(again.kind(), proto::WorkReply::WORK);
  EXPECT_EQ(again.item(), 0u);
  EXPECT_TRUE(b.Result(0, 0, "b0"));
  const auto c = collected.get();
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_EQ(c.results[0].groups(0).error(), "b0");
  EXPECT_EQ(c.reissued, 1);
  EXPECT_FALSE(a.Result(0, 0, "late")) << "the holder's late copy is dropped";
}

TEST(RolloutGateway, StepsPostedAheadGoOutOldestFirstEachWithItsVersion) {
  // grpo.max_staleness 2: steps 5 and 6 posted with v4, step 7 with v5.
  auto gateway = MakeGateway(milliseconds(10000));
  FakeWorker a(gateway->port(), "a");
  gateway->Post(5, 4, Items(5, 1));
  gateway->Post(6, 4, Items(6, 2));
  gateway->Post(7, 5, Items(7, 1));
  EXPECT_EQ(gateway->posted_steps(), 3);
  ASSERT_EQ(a.Ask(-1).kind(), proto::WorkReply::WEIGHTS);
  std::vector<std::pair<int64_t, uint64_t>> order;  // (step, item) as handed out
  int64_t holds = 4;
  for (int i = 0; i < 4; ++i) {
    auto r = a.Ask(holds);
    if (r.kind() == proto::WorkReply::WEIGHTS) {
      EXPECT_EQ(r.weight_version(), 5) << "step 7 is generated with v5";
      EXPECT_EQ(order.size(), 3u) << "only after steps 5 and 6";
      holds = r.weight_version();
      r = a.Ask(holds);
    }
    ASSERT_EQ(r.kind(), proto::WorkReply::WORK);
    EXPECT_EQ(r.weight_version(), holds);
    order.emplace_back(r.work().step(), r.item());
    EXPECT_TRUE(a.Result(r.item(), r.work().step(), "s" + std::to_string(r.work().step())));
  }
  const std::vector<std::pair<int64_t, uint64_t>> want = {{5, 0}, {6, 0}, {6, 1}, {7, 0}};
  EXPECT_EQ(order, want);
  // A result for a step not posted (or already collected) is dropped.
  EXPECT_FALSE(a.Result(0, 9, "unposted"));
  // Collected one step at a time, each its own results.
  EXPECT_EQ(gateway->Collect(6, milliseconds(1000)).results.at(1).groups(0).error(), "s6");
  EXPECT_EQ(gateway->Collect(5, milliseconds(1000)).results.at(0).groups(0).error(), "s5");
  EXPECT_EQ(gateway->posted_steps(), 1);
  EXPECT_FALSE(a.Result(0, 5, "late")) << "step 5 is collected";
  EXPECT_EQ(gateway->Collect(7, milliseconds(1000)).results.size(), 1u);
}

// grpo.partial_rollouts: a renewal names a version newer than the worker
// holds (and where to fetch it); a worker holding a newer version than an
// item's runs the item with it. Without partial rollouts, neither.
TEST(RolloutGateway, WithPartialRolloutsRenewalsNameNewerWeightsAndNewerHoldersRunOlderItems) {
  for (const bool partial : {false, true}) {
    SCOPED_TRACE(partial ? "partial" : "off");
    auto gateway = MakeGateway(milliseconds(10000), milliseconds(0), partial);
    FakeWorker a(gateway->port(), "a");
    gateway->Post(3, 2, Items(3, 2));
    ASSERT_EQ(a.Ask(-1).kind(), proto::WorkReply::WEIGHTS);
    const auto first = a.Ask(2);
    ASSERT_EQ(first.kind(), proto::WorkReply::WORK);
    EXPECT_EQ(a.Renew().newest_version(), 0) << "nothing newer than v2";
    gateway->Publish(3);  // learner 0 published v3 while a runs item 0
    const auto renewed = a.Renew();
    EXPECT_TRUE(renewed.known());
    EXPECT_EQ(renewed.newest_version(), partial ? 3 : 0);
    EXPECT_EQ(renewed.weight_source(), partial ? "127.0.0.1:9" : "");
    EXPECT_TRUE(a.Result(first.item(), 3, "a0"));
    const auto second = a.Ask(3);  // a took v3 mid-item
    if (partial) {
      ASSERT_EQ(second.kind(), proto::WorkReply::WORK) << "v3 is fresher than the item's v2";
      EXPECT_EQ(second.weight_version(), 2) << "the item's own version";
      EXPECT_TRUE(a.Result(second.item(), 3, "a1"));
      EXPECT_EQ(gateway->Collect(3, milliseconds(1000)).results.size(), 2u);
    } else {
      ASSERT_EQ(second.kind(), proto::WorkReply::WEIGHTS) << "the item's version, exactly";
      EXPECT_EQ(second.weight_version(), 2);
    }
  }
}

TEST(RolloutGateway, AStepWithNoWorkerEndsWithAMessageThatSaysSo) {
  auto gateway = MakeGateway(milliseconds(5000));
  gateway->Post(0, 0, Items(0, 3));
  testing::ExpectErrorContaining([&] { gateway->Collect(0, milliseconds(300)); },
                                 {"3 work items wait, 0 are leased, 0 rollout workers are live"});
}

}  // namespace
}  // namespace prlm
