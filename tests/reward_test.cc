// The reward tier: the format and accuracy components on hand-computed
// cases; the dynamic batcher (batch cutting, deadlines, drain); the scorer
// giving the same rewards alone and batched, timing out clearly, refusing bad
// requests; a 32 x 500 loopback load test with nothing lost or duplicated and
// with broken frames and vanishing clients alongside; the reward model's pair
// truncation, save/load, Bradley-Terry training on synthetic pairs; PrLM's
// pair-making recipe; and the CLI end to end (serve-reward, score, SIGTERM).
#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <condition_variable>
#include <filesystem>
#include <future>
#include <mutex>
#include <set>
#include <thread>

#include "common/data/prompt_templates.h"
#include "common/net/rpc_server.h"
#include "common/reward/lore.h"
#include "common/reward/preference_embedding.h"
#include "common/reward/protocol.h"
#include "common/reward/reward_client.h"
#include "common/reward/reward_model.h"
#include "common/text/answer.h"
#include "common/text/prompt.h"
#include "common/util/dynamic_batcher.h"
#include "common/util/file.h"
#include "pipeline/lore_training.h"
#include "pipeline/rm_pairs.h"
#include "pipeline/rm_trainer.h"
#include "pipeline/synthetic.h"
#include "retrieval_shards/local_retriever.h"
#include "reward_server/lore_reward.h"
#include "reward_server/personalization_reward.h"
#include "reward_server/reward_scorer.h"
#include "reward_server/reward_service.h"
#include "reward_server/text_rewards.h"
#include "tests/net_test_util.h"
#include "tests/test_util.h"

namespace prlm::reward {
namespace {

using prlm::testing::ClosedByServer;
using prlm::testing::ExpectErrorContaining;
using prlm::testing::RawConnect;
using prlm::testing::RawSend;
using prlm::testing::TempDir;
using prlm::testing::WriteBytes;
using util::DynamicBatcher;

const std::string kBertTiny = std::string(PRLM_SOURCE_DIR) + "/tests/fixtures/bert-tiny";

proto::ScoreItem Item(const std::string& query, const std::string& completion, const std::string& gold,
                      const std::string& user = "u") {
  proto::ScoreItem item;
  item.set_query(query);
  item.set_completion(completion);
  item.set_gold(gold);
  item.set_user_id(user);
  return item;
}

double Component(const proto::ScoredItem& scored, const std::string& name) {
  for (const auto& c : scored.components())
    if (c.name() == name) return c.value();
  ADD_FAILURE() << "no component " << name;
  return NAN;
}

// A one-shot gate: Wait() blocks until Open().
class Gate {
 public:
  void Open() {
    std::lock_guard<std::mutex> l(mu_);
    open_ = true;
    cv_.notify_all();
  }
  void Wait() {
    std::unique_lock<std::mutex> l(mu_);
    cv_.wait(l, [&] { return open_; });
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool open_ = false;
};

// A batched component standing in for a model: its value is a function of
// the item alone (so a mixed-up reply is caught), and it can be held.
class EchoModel : public reward_server::RewardComponent {
 public:
  struct Prepared : reward_server::PreparedItem {
    double value = 0;
  };
  const std::vector<std::string>& outputs() const override {
    static const std::vector<std::string> names = {"echo"};
    return names;
  }
  std::unique_ptr<reward_server::PreparedItem> Prepare(const reward_server::RewardInput& in, double*) const override {
    auto p = std::make_unique<Prepared>();
    p->value = ValueOf(in.item->user_id());
    p->tokens = 1;
    return p;
  }
  void ScoreBatch(const std::vector<const reward_server::PreparedItem*>& items,
                  const std::vector<double*>& out) override {
    if (hold) hold->Wait();
    ++batches;
    for (size_t i = 0; i < items.size(); ++i) out[i][0] = static_cast<const Prepared*>(items[i])->value;
  }
  static double ValueOf(const std::string& user) { return double(std::hash<std::string>()(user) % 100000); }
  Gate* hold = nullptr;
  std::atomic<int> batches{0};
};

// ---------------------------------------------------------------- components

TEST(FormatReward, HandCases) {
  using text::HasReasoningFormat;
  EXPECT_TRUE(HasReasoningFormat("<think>the user likes short titles</think>\n<answer>Short Title</answer>"));
  EXPECT_TRUE(HasReasoningFormat("  <think>r</think>{'title': 'A'}"));
  EXPECT_TRUE(HasReasoningFormat("reasoning opened by the prompt</think> The Answer"));  // R1 templates
  EXPECT_TRUE(HasReasoningFormat("<think>r</think><answer>A</answer>\n"));
  EXPECT_FALSE(HasReasoningFormat("<answer>A</answer>"));                       // no reasoning
  EXPECT_FALSE(HasReasoningFormat("<think>r</think>"));                         // no answer
  EXPECT_FALSE(HasReasoningFormat("<think>r</think>   <answer> </answer>"));    // empty answer
  EXPECT_FALSE(HasReasoningFormat("<think>  </think>A"));                       // empty reasoning
  EXPECT_FALSE(HasReasoningFormat("<think>a</think>b</think>c"));               // two closes
  EXPECT_FALSE(HasReasoningFormat("x <think>r</think>A"));                      // text before <think>
  EXPECT_FALSE(HasReasoningFormat("<think>r<think>s</think>A"));                // nested open
  EXPECT_FALSE(HasReasoningFormat("<think>r</think><answer>A"));                // unclosed answer
  EXPECT_FALSE(HasReasoningFormat("<think>r</think><answer>A</answer> more"));  // text after answer
  EXPECT_FALSE(HasReasoningFormat("<think>r</think>A<think>again"));            // reopened

  reward_server::FormatReward format;
  proto::ScoreItem item = Item("q", "<think>r</think><answer>A</answer>", "A");
  reward_server::RewardInput in{&item, text::ExtractAnswer(item.completion()), 0};
  double out[1] = {0};
  EXPECT_EQ(format.Prepare(in, out), nullptr);
  EXPECT_EQ(out[0], 1.0);
}

TEST(AccuracyReward, HandComputedRougeSum) {
  reward_server::AccuracyReward accuracy;
  // gold "the cat sat", answer "the cat": ROUGE-1 P 1, R 2/3 -> F 0.8; ROUGE-2
  // bigrams {the cat} vs {the cat, cat sat}: P 1, R 1/2 -> F 2/3; ROUGE-L LCS 2 -> 0.8.
  proto::ScoreItem item = Item("q", "<think>r</think><answer>The cat</answer>", "the cat sat");
  reward_server::RewardInput in{&item, text::ExtractAnswer(item.completion()), 0};
  double out[4] = {0, 0, 0, 0};
  accuracy.Prepare(in, out);
  EXPECT_NEAR(out[1], 0.8, 1e-12);
  EXPECT_NEAR(out[2], 2.0 / 3.0, 1e-12);
  EXPECT_NEAR(out[3], 0.8, 1e-12);
  EXPECT_NEAR(out[0], 0.8 + 2.0 / 3.0 + 0.8, 1e-12);
  // A title drafted inside the reasoning earns nothing: only text after </think> counts.
  proto::ScoreItem drafted = Item("q", "<think>the cat sat</think>", "the cat sat");
  reward_server::RewardInput in2{&drafted, text::ExtractAnswer(drafted.completion()), 0};
  double out2[4] = {0, 0, 0, 0};
  accuracy.Prepare(in2, out2);
  EXPECT_EQ(out2[0], 0.0);
  // No gold output: refused, naming the item.
  proto::ScoreItem no_gold = Item("q", "<think>r</think>A", "  ");
  reward_server::RewardInput in3{&no_gold, text::ExtractAnswer(no_gold.completion()), 7};
  ExpectErrorContaining([&] { accuracy.Prepare(in3, out2); }, {"item 7", "gold"});
}

TEST(SimilarityReward, IsTheMeanOfRouge1AndRougeLAndNeedsAGold) {
  reward_server::SimilarityReward similarity;
  // The hand-computed pair above: ROUGE-1 F 0.8, ROUGE-L F 0.8.
  proto::ScoreItem item = Item("q", "<think>r</think><answer>The cat</answer>", "the cat sat");
  double out[1] = {0};
  similarity.Prepare(reward_server::RewardInput{&item, text::ExtractAnswer(item.completion()), 0}, out);
  EXPECT_NEAR(out[0], 0.8, 1e-12);
  // gold "a b c d", answer "d a": ROUGE-1 F 2/3; LCS 1 -> P 1/2, R 1/4, F 1/3.
  proto::ScoreItem order = Item("q", "<think>r</think>d a", "a b c d");
  similarity.Prepare(reward_server::RewardInput{&order, text::ExtractAnswer(order.completion()), 0}, out);
  EXPECT_NEAR(out[0], (2.0 / 3 + 1.0 / 3) / 2, 1e-12);
  proto::ScoreItem no_gold = Item("q", "<think>r</think>d a", " ");
  ExpectErrorContaining(
      [&] {
        similarity.Prepare(reward_server::RewardInput{&no_gold, text::ExtractAnswer(no_gold.completion()), 4}, out);
      },
      {"item 4", "no gold output", "similarity"});
}

TEST(AccuracyReward, ScoresClassificationAndRatingByTheItemsTask) {
  reward_server::AccuracyReward accuracy;
  auto score = [&](const std::string& task, const std::string& completion, const std::string& gold) {
    proto::ScoreItem item = Item("q", completion, gold);
    item.set_task(task);
    reward_server::RewardInput in{&item, text::ExtractAnswer(item.completion()), 3};
    double out[4] = {0, 0, 0, 0};
    accuracy.Prepare(in, out);
    return out[0];
  };
  EXPECT_EQ(score("LaMP_2", "<think>r</think>{'tag': 'comedy'}", "comedy"), 1.0);
  EXPECT_EQ(score("LaMP_2", "<think>r</think>{'tag': 'action'}", "comedy"), 0.0);
  EXPECT_NEAR(score("LaMP_3", "<think>r</think>{'score': '2'}", "4"), 0.5, 1e-12);
  EXPECT_EQ(score("LaMP_1", "<think>r</think><answer>[2]</answer>", "[2]"), 1.0);
  // A generation task scores ROUGE-1+2+L as before.
  EXPECT_NEAR(score("LaMP_4", "<think>r</think>the cat sat", "the cat sat"), 3.0, 1e-12);
  ExpectErrorContaining([&] { score("LaMP_99", "<think>r</think>x", "y"); }, {"item 3", "LaMP_99"});
}

// ---------------------------------------------------------------- batcher

struct CountingJob : DynamicBatcher::Job {
  int id = 0;
};

TEST(DynamicBatcher, FillsBatchesExpiresAndDrains) {
  Gate hold;
  std::mutex mu;
  std::vector<std::vector<int>> batches;
  std::vector<int> expired;
  DynamicBatcher::Options o;
  o.max_batch_size = 4;
  o.max_queue_delay = std::chrono::hours(1);  // only a full batch (or Stop) cuts one
  DynamicBatcher::Callbacks cb;
  cb.run_batch = [&](std::vector<DynamicBatcher::JobPtr>& batch) {
    std::vector<int> ids;
    for (auto& j : batch) ids.push_back(static_cast<CountingJob&>(*j).id);
    if (ids[0] == 0) hold.Wait();
    std::lock_guard<std::mutex> l(mu);
    batches.push_back(ids);
  };
  cb.expired = [&](const DynamicBatcher::JobPtr& j) {
    std::lock_guard<std::mutex> l(mu);
    expired.push_back(static_cast<CountingJob&>(*j).id);
  };
  DynamicBatcher batcher(o, cb);
  auto job = [](int id, int seqs, DynamicBatcher::Clock::time_point deadline) {
    auto j = std::make_shared<CountingJob>();
    j->id = id;
    j->sequences = seqs;
    j->deadline = deadline;
    return j;
  };
  const auto never = DynamicBatcher::Clock::time_point::max();
  // 1. Four one-sequence jobs fill the first batch; the executor holds it.
  for (int i = 0; i < 4; ++i) ASSERT_EQ(batcher.Submit(job(i, 1, never)), DynamicBatcher::Submitted::kQueued);
  // 2. While it is held: a job with a passed deadline must expire (no executor is free to run it).
  ASSERT_EQ(batcher.Submit(job(10, 1, DynamicBatcher::Clock::now())), DynamicBatcher::Submitted::kQueued);
  for (int spins = 0; batcher.stats().jobs_expired == 0 && spins < 2000; ++spins)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  // 3. More jobs: 3 + 2 sequences do not fit in 4, so they go in separate batches; a 6-sequence job runs alone.
  ASSERT_EQ(batcher.Submit(job(20, 3, never)), DynamicBatcher::Submitted::kQueued);
  ASSERT_EQ(batcher.Submit(job(21, 2, never)), DynamicBatcher::Submitted::kQueued);
  ASSERT_EQ(batcher.Submit(job(22, 6, never)), DynamicBatcher::Submitted::kQueued);
  hold.Open();
  batcher.Stop();  // drains what is queued
  EXPECT_EQ(batcher.Submit(job(99, 1, never)), DynamicBatcher::Submitted::kStopped);
  std::lock_guard<std::mutex> l(mu);
  EXPECT_EQ(expired, std::vector<int>({10}));
  ASSERT_EQ(batches.size(), 4u);
  EXPECT_EQ(batches[0], std::vector<int>({0, 1, 2, 3}));
  EXPECT_EQ(batches[1], std::vector<int>({20}));
  EXPECT_EQ(batches[2], std::vector<int>({21}));
  EXPECT_EQ(batches[3], std::vector<int>({22}));
  const auto s = batcher.stats();
  EXPECT_EQ(s.jobs_run, 7u);
  EXPECT_EQ(s.jobs_expired, 1u);
  EXPECT_EQ(s.max_batch_sequences_seen, 6u);
}

// ---------------------------------------------------------------- scorer

std::shared_ptr<RewardModel> TinyRewardModel() { return RewardModel::Load(kBertTiny, 128, 7); }

std::vector<proto::ScoreItem> SomeGroup(int g) {
  const std::string gold = "Local council approves new park plan " + std::to_string(g);
  std::vector<proto::ScoreItem> items;
  const std::string answers[] = {"Council approves park plan", "NEW PARK PLAN APPROVED " + std::to_string(g),
                                 "Local council approves new park plan", "city news"};
  for (int s = 0; s < 4; ++s)
    items.push_back(
        Item("Generate a headline for the following article: the council met on Tuesday " + std::to_string(g),
             "<think>The user keeps titles short.</think><answer>" + answers[s] + "</answer>", gold,
             "user" + std::to_string(g)));
  items[3].set_completion("no reasoning, just " + answers[3]);  // no answer after </think>
  return items;
}

proto::ScoreRequest Request(const std::vector<proto::ScoreItem>& items, uint32_t timeout_ms = 0) {
  proto::ScoreRequest r;
  for (const auto& i : items) *r.add_items() = i;
  r.set_timeout_ms(timeout_ms);
  return r;
}

TEST(RewardScorer, SameRewardsAloneAndBatched) {
  auto rm = TinyRewardModel();
  const int kGroups = 8;
  auto make = [&](int64_t max_batch, std::chrono::microseconds delay) {
    reward_server::ScorerOptions o;
    o.batching.max_batch_size = max_batch;
    o.batching.max_queue_delay = delay;
    return std::make_unique<reward_server::RewardScorer>(
        std::vector<reward_server::WeightedComponent>{
            {std::make_shared<reward_server::AccuracyReward>(), 1.0},
            {std::make_shared<reward_server::FormatReward>(), 0.1},
            {std::make_shared<reward_server::PersonalizationReward>(rm, 64), 0.1}},
        o);
  };
  // 1. Alone: one request at a time, each in its own batch.
  auto alone = make(32, std::chrono::microseconds(0));
  std::vector<proto::ScoreReply> single;
  for (int g = 0; g < kGroups; ++g) single.push_back(alone->ScoreNow(Request(SomeGroup(g))));
  // 2. Batched: every request in one batch (it is cut only when full: 8 groups x 3 answered items).
  auto together = make(kGroups * 3, std::chrono::hours(1));
  std::vector<std::promise<proto::ScoreReply>> promises(kGroups);
  for (int g = 0; g < kGroups; ++g)
    together->Score(Request(SomeGroup(g)), [&, g](proto::ScoreReply r) { promises[g].set_value(std::move(r)); });
  for (int g = 0; g < kGroups; ++g) {
    const auto batched = promises[g].get_future().get();
    ASSERT_EQ(batched.status(), proto::ScoreReply::OK) << batched.error();
    ASSERT_EQ(single[g].status(), proto::ScoreReply::OK);
    EXPECT_EQ(batched.batch_items(), uint32_t(kGroups * 3));
    EXPECT_EQ(single[g].batch_items(), 3u);
    ASSERT_EQ(batched.items_size(), 4);
    for (int i = 0; i < 4; ++i) {
      EXPECT_NEAR(batched.items(i).reward(), single[g].items(i).reward(), 1e-5);
      ASSERT_EQ(batched.items(i).components_size(), single[g].items(i).components_size());
      for (int c = 0; c < batched.items(i).components_size(); ++c)
        EXPECT_NEAR(batched.items(i).components(c).value(), single[g].items(i).components(c).value(), 1e-5);
    }
    // The weighted sum, recomputed from the reported components.
    const auto& it = batched.items(0);
    EXPECT_NEAR(it.reward(),
                Component(it, "accuracy") + 0.1 * Component(it, "format") + 0.1 * Component(it, "personalization"),
                1e-9);
    EXPECT_NEAR(Component(it, "personalization"), 1 / (1 + std::exp(-Component(it, "rm_score"))), 1e-9);
    // The item with no answer: no accuracy, no format, no personalization.
    EXPECT_EQ(batched.items(3).reward(), 0.0);
    EXPECT_EQ(batched.items(3).answer(), "");
  }
  EXPECT_EQ(together->Counters().at("batches"), 1u);
  EXPECT_EQ(alone->Counters().at("batches"), uint64_t(kGroups));
}

TEST(RewardScorer, DeadlineInvalidAndOverloadAreExplicit) {
  Gate hold;
  auto echo = std::make_shared<EchoModel>();
  echo->hold = &hold;
  reward_server::ScorerOptions o;
  o.batching.max_batch_size = 1;
  o.batching.max_queue_delay = std::chrono::microseconds(0);
  o.batching.max_queued_sequences = 2;
  reward_server::RewardScorer scorer({{std::make_shared<reward_server::FormatReward>(), 1.0}, {echo, 1.0}}, o);
  const std::vector<proto::ScoreItem> one = {Item("q", "<think>r</think>A", "A", "alice")};
  // 1. The first request occupies the only executor (held).
  std::promise<proto::ScoreReply> first;
  scorer.Score(Request(one), [&](proto::ScoreReply r) { first.set_value(std::move(r)); });
  while (scorer.Counters().at("queued_items") != 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  // 2. The next, with a 1 ms deadline, cannot be run in time: a clear timeout reply.
  const auto late = scorer.ScoreNow(Request(one, 1));
  EXPECT_EQ(late.status(), proto::ScoreReply::DEADLINE_EXCEEDED);
  EXPECT_NE(late.error().find("timeout_ms=1"), std::string::npos) << late.error();
  EXPECT_EQ(late.items_size(), 0);
  // 3. Fill the queue (2 sequences), then one more is refused as overloaded.
  std::promise<proto::ScoreReply> q1, q2;
  scorer.Score(Request(one), [&](proto::ScoreReply r) { q1.set_value(std::move(r)); });
  scorer.Score(Request(one), [&](proto::ScoreReply r) { q2.set_value(std::move(r)); });
  const auto refused = scorer.ScoreNow(Request(one));
  EXPECT_EQ(refused.status(), proto::ScoreReply::OVERLOADED);
  // 4. Invalid requests: empty, and an item the accuracy reward cannot score.
  EXPECT_EQ(scorer.ScoreNow(proto::ScoreRequest()).status(), proto::ScoreReply::INVALID_REQUEST);
  reward_server::RewardScorer with_accuracy({{std::make_shared<reward_server::AccuracyReward>(), 1.0}},
                                            reward_server::ScorerOptions());
  const auto invalid = with_accuracy.ScoreNow(Request({Item("q", "<think>r</think>A", "A"), Item("q", "x", "")}));
  EXPECT_EQ(invalid.status(), proto::ScoreReply::INVALID_REQUEST);
  EXPECT_NE(invalid.error().find("item 1"), std::string::npos) << invalid.error();
  // A field over its size limit (docs/security.md): refused, named, counted.
  const auto huge = with_accuracy.ScoreNow(
      Request({Item("q", "<think>r</think>A", "A"), Item("q", std::string(kMaxTextBytes + 1, 'x'), "A")}));
  EXPECT_EQ(huge.status(), proto::ScoreReply::INVALID_REQUEST);
  EXPECT_NE(huge.error().find("item 1: its completion is over the limit of 262144 bytes"), std::string::npos)
      << huge.error();
  EXPECT_EQ(with_accuracy.Counters().at("over_limit"), 1u);
  // 5. Release: the held and queued requests are answered, correctly.
  hold.Open();
  for (auto* p : {&first, &q1, &q2}) {
    const auto r = p->get_future().get();
    ASSERT_EQ(r.status(), proto::ScoreReply::OK) << r.error();
    EXPECT_EQ(Component(r.items(0), "echo"), EchoModel::ValueOf("alice"));
  }
  const auto c = scorer.Counters();
  EXPECT_EQ(c.at("deadline_exceeded"), 1u);
  EXPECT_EQ(c.at("overloaded"), 1u);
  EXPECT_EQ(c.at("invalid"), 1u);
  EXPECT_EQ(c.at("ok"), 3u);
}

// ---------------------------------------------------------------- service

struct RunningServer {
  explicit RunningServer(reward_server::RewardScorer& scorer, net::ServerOptions o = {}) : server(o) {
    reward_server::RegisterRewardHandlers(server, scorer);
    thread = std::thread([this] { server.Run(); });
  }
  ~RunningServer() {
    server.Stop();
    thread.join();
  }
  net::RpcServer server;
  std::thread thread;
};

// Failover: a client given two servers moves on when its first cannot be
// reached (stopped) or does not answer (a listener that never accepts), for
// that call's next attempt and every later one; with one server, it gives up
// naming it.
TEST(RewardService, AClientFailsOverToTheNextServer) {
  reward_server::RewardScorer scorer({{std::make_shared<reward_server::AccuracyReward>(), 1.0}}, {});
  auto first = std::make_unique<RunningServer>(scorer);
  RunningServer second(scorer);
  const net::Endpoint a{"127.0.0.1", first->server.port()}, b{"127.0.0.1", second.server.port()};
  const auto item = Item("q", "<think>r</think><answer>x</answer>", "x");
  RewardClient client({a, b}, {}, net::RetryPolicy{3, 0.01, 0.01});
  const auto from_a = client.Score({item}, 5000);
  ASSERT_EQ(from_a.status(), proto::ScoreReply::OK);
  EXPECT_EQ(client.endpoint().port, a.port) << "the preferred server first";
  first.reset();  // the first server is gone
  const auto reply = client.Score({item}, 5000);
  ASSERT_EQ(reply.status(), proto::ScoreReply::OK) << reply.error();
  EXPECT_EQ(reply.items(0).reward(), from_a.items(0).reward()) << "every server scores alike";
  EXPECT_EQ(client.endpoint().port, b.port);
  EXPECT_EQ(client.reroutes(), 1);
  EXPECT_EQ(client.retry_counters().retries.load(), 1) << "one failed attempt, then the second server";
  ASSERT_EQ(client.Score({item}, 5000).status(), proto::ScoreReply::OK);
  EXPECT_EQ(client.retry_counters().retries.load(), 1) << "later calls go straight to the second server";
  // A server that takes connections but never answers: the call's deadline
  // passes, and the client moves on.
  const int silent = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in at{};
  at.sin_family = AF_INET;
  at.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ASSERT_EQ(::bind(silent, reinterpret_cast<sockaddr*>(&at), sizeof at), 0);
  ASSERT_EQ(::listen(silent, 16), 0);  // never accepted: the kernel completes the connection, nobody reads
  socklen_t len = sizeof at;
  ::getsockname(silent, reinterpret_cast<sockaddr*>(&at), &len);
  RewardClient past_a_stall({net::Endpoint{"127.0.0.1", ntohs(at.sin_port)}, b}, {}, net::RetryPolicy{2, 0.01, 0.01});
  EXPECT_EQ(past_a_stall.Score({item}, 200).status(), proto::ScoreReply::OK);
  EXPECT_EQ(past_a_stall.reroutes(), 1);
  ::close(silent);
  // One server, gone: the call gives up, naming it.
  RewardClient alone(a, {}, net::RetryPolicy{2, 0.01, 0.01});
  ExpectErrorContaining([&] { alone.Score({item}, 5000); },
                        {"reward server 127.0.0.1:" + std::to_string(a.port), "gave up after 2 attempts"});
  EXPECT_EQ(alone.reroutes(), 0);
}

TEST(RewardService, LoadTest32ClientsNothingLostOrDuplicatedDespiteBadClients) {
  auto echo = std::make_shared<EchoModel>();
  reward_server::ScorerOptions o;
  o.batching.max_batch_size = 64;
  o.batching.max_queue_delay = std::chrono::microseconds(500);
  reward_server::RewardScorer scorer({{std::make_shared<reward_server::AccuracyReward>(), 1.0}, {echo, 1.0}}, o);
  net::ServerOptions so;
  so.worker_threads = 4;
  so.idle_timeout_s = 2;
  RunningServer running(scorer, so);
  const uint16_t port = running.server.port();
  const int kClients = 32, kRequests = 500;
  std::atomic<int> wrong{0}, failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < kClients; ++c)
    clients.emplace_back([&, c] {
      RewardClient client(net::Endpoint{"127.0.0.1", port});
      for (int i = 0; i < kRequests; ++i) {
        // Each request is unique: its user id and its answer name it.
        const std::string id = std::to_string(c) + "-" + std::to_string(i);
        try {
          const auto reply = client.Score(
              {Item("q", "<think>r</think><answer>a " + id + "</answer>", "a " + id, "user-" + id)}, 60000);
          if (reply.status() != proto::ScoreReply::OK || reply.items_size() != 1 ||
              reply.items(0).answer() != "a " + id ||
              Component(reply.items(0), "echo") != EchoModel::ValueOf("user-" + id) ||
              Component(reply.items(0), "accuracy") != 3.0)
            ++wrong;
        } catch (const std::exception& e) {
          ++failed;
        }
      }
    });
  // Alongside: broken frames, a truncated frame, and clients that vanish mid-request.
  const std::string good =
      net::EncodeFrame(kScoreRequest, 1, Request({Item("q", "<think>r</think>x", "x")}).SerializeAsString());
  const std::string bad_cases[] = {
      std::string("\x00\x01garbage-without-magic-0123456789", 34),
      net::EncodeFrame(kScoreRequest, 2, std::string("\xff\xff\xff\xff", 4)),  // not a ScoreRequest
  };
  for (int round = 0; round < 5; ++round) {
    for (const auto& bytes : bad_cases) {
      const int fd = RawConnect(port);
      RawSend(fd, bytes);
      EXPECT_TRUE(ClosedByServer(fd));
      ::close(fd);
    }
    const int half = RawConnect(port);  // half a frame, then gone
    RawSend(half, good.substr(0, good.size() / 2));
    ::close(half);
    const int vanish = RawConnect(port);  // a whole request, gone before the reply
    RawSend(vanish, good);
    ::close(vanish);
  }
  for (auto& t : clients) t.join();
  for (int i = 0; i < 1000 && running.server.Counters().at("reward_ok") < uint64_t(kClients * kRequests + 5); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));  // the vanished clients' last requests
  EXPECT_EQ(failed.load(), 0);
  EXPECT_EQ(wrong.load(), 0);
  const auto c = running.server.Counters();
  // Every good request answered exactly once (plus the vanished clients' requests, scored and dropped).
  EXPECT_EQ(c.at("reward_ok"), uint64_t(kClients * kRequests + 5));
  EXPECT_EQ(c.at("reward_requests"), uint64_t(kClients * kRequests + 5));
  EXPECT_EQ(c.at("bad_magic"), 5u);
  EXPECT_EQ(c.at("bad_payload"), 5u);
  EXPECT_GE(c.at("truncated"), 5u);
  EXPECT_GT(c.at("reward_max_batch_items"), 1u);  // batching happened across clients
}

// LoRe served (reward_server/lore_reward.h): each item scored with its user's
// weights (unknown users: the population mean, counted), online adaptation
// while 8 clients score the same user (every reply uses the weights before or
// after one of the adaptations, none is lost), the weights read back, and
// every bad adaptation request refused with an explicit reply; the adapted
// table persisted in the model directory.
TEST(LoreService, ScoresPerUserAdaptsWhileScoringAndRefusesBadInput) {
  const std::string bert = std::string(PRLM_SOURCE_DIR) + "/tests/fixtures/bert-tiny";
  std::shared_ptr<RewardModel> embedder = RewardModel::Load(bert, 64);
  torch::manual_seed(5);
  reward::LoreOptions lo;
  lo.basis = 3;
  lo.iterations = 30;
  lo.scale = 1;
  lo.prune_below = 0;
  lo.adapt_iterations = 100;
  const auto model = pipeline::TrainLore({torch::randn({40, 64}), std::vector<int64_t>(40, 0)}, {"a"}, lo);
  auto table = model.Clone();
  table.SetUser("b", reward::LoreModel::LogitsOf(torch::tensor({0.7f, 0.2f, 0.1f})));
  TempDir model_dir;  // adaptations persist into the model directory
  table.Save(model_dir.str(), bert, "pooler", lo, {});
  auto lore = std::make_shared<reward_server::LoreReward>(embedder, model::Pooling::kPooler, table.Clone(), lo, 16, 8,
                                                          model_dir.str());
  reward_server::ScorerOptions o;
  o.batching.max_batch_size = 16;
  o.batching.max_queue_delay = std::chrono::microseconds(500);
  reward_server::RewardScorer scorer({{lore, 1.0}}, o);
  net::ServerOptions so;
  so.worker_threads = 4;
  RunningServer running(scorer, so);
  RewardClient client(net::Endpoint{"127.0.0.1", running.server.port()});
  // 1. Known and unknown users.
  const std::string answer = "a short answer";
  const auto phi = RewardModel::Load(bert, 64)->EmbedTexts({{"q", answer}}, model::Pooling::kPooler);
  const auto expected = [&](const torch::Tensor& w) { return table.Rewards(phi, w).item<double>(); };
  auto reply = client.Score(
      {Item("q", "<think>r</think>" + answer, "g", "b"), Item("q", "<think>r</think>" + answer, "g", "stranger")});
  ASSERT_EQ(reply.status(), proto::ScoreReply::OK) << reply.error();
  EXPECT_NEAR(Component(reply.items(0), "lore_score"), expected(table.WeightsOf("b")), 1e-5);
  EXPECT_NEAR(Component(reply.items(0), "personalization"),
              1 / (1 + std::exp(-Component(reply.items(0), "lore_score"))), 1e-12);
  EXPECT_EQ(Component(reply.items(0), "lore_known_user"), 1.0);
  EXPECT_EQ(Component(reply.items(1), "lore_known_user"), 0.0);
  EXPECT_NEAR(Component(reply.items(1), "lore_score"), expected(table.WeightsOf("nobody")), 1e-5);
  // 2. Adapt user "c" twice while 8 clients score it.
  proto::AdaptUserRequest adapt;
  adapt.set_user_id("c");
  for (int i = 0; i < 4; ++i) {
    auto* p = adapt.add_pairs();
    p->set_prompt("how do I start?");
    p->set_chosen("a long and careful answer number " + std::to_string(i));
    p->set_rejected("no");
  }
  std::atomic<bool> done{false};
  std::mutex mu;
  std::vector<double> seen_scores;
  std::atomic<int> failed{0};
  std::vector<std::thread> clients;
  for (int c = 0; c < 8; ++c)
    clients.emplace_back([&] {
      RewardClient mine(net::Endpoint{"127.0.0.1", running.server.port()});
      while (!done) {
        const auto r = mine.Score({Item("q", "<think>r</think>" + answer, "g", "c")}, 60000);
        if (r.status() != proto::ScoreReply::OK) {
          ++failed;
          continue;
        }
        std::lock_guard<std::mutex> l(mu);
        seen_scores.push_back(Component(r.items(0), "lore_score"));
      }
    });
  std::vector<torch::Tensor> versions = {table.WeightsOf("c")};  // the population mean first
  for (int round = 0; round < 2; ++round) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    if (round == 1) adapt.mutable_pairs(0)->set_chosen("a different long answer");
    const auto w = client.AdaptUser(adapt);
    ASSERT_EQ(w.status(), proto::UserWeightsReply::OK) << w.error();
    EXPECT_EQ(w.version(), round + 1);
    EXPECT_TRUE(w.known());
    versions.push_back(torch::tensor(std::vector<double>(w.weights().begin(), w.weights().end())).to(torch::kFloat));
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  done = true;
  for (auto& t : clients) t.join();
  EXPECT_EQ(failed.load(), 0);
  ASSERT_GT(seen_scores.size(), 0u);
  for (double s : seen_scores) {
    int match = -1;
    for (size_t v = 0; v < versions.size(); ++v)
      if (std::abs(s - expected(versions[v])) < 1e-5) match = static_cast<int>(v);
    EXPECT_GE(match, 0) << "score " << s << " uses no whole set of weights";
  }
  // After the last adaptation, scores use its weights.
  const auto last = client.Score({Item("q", "<think>r</think>" + answer, "g", "c")});
  EXPECT_NEAR(Component(last.items(0), "lore_score"), expected(versions[2]), 1e-5);
  const auto back = client.UserWeights("c");
  EXPECT_EQ(back.version(), 2);
  bool on_disk = false;
  const auto persisted = reward::LoreModel::Load(model_dir.str()).WeightsOf("c", &on_disk);
  EXPECT_TRUE(on_disk) << "the adapted table is in the model directory";
  EXPECT_TRUE(torch::allclose(persisted, versions[2], 1e-5, 1e-6));
  EXPECT_TRUE(back.known());
  EXPECT_NEAR(back.weights(0), versions[2][0].item<double>(), 1e-6);
  EXPECT_FALSE(client.UserWeights("nobody").known());
  // 3. Bad requests: each an explicit INVALID_REQUEST naming the fault.
  const auto refused = [&](proto::AdaptUserRequest r, const std::string& needle) {
    const auto w = client.AdaptUser(r);
    EXPECT_EQ(w.status(), proto::UserWeightsReply::INVALID_REQUEST) << needle;
    EXPECT_NE(w.error().find(needle), std::string::npos) << w.error();
  };
  proto::AdaptUserRequest empty;
  empty.set_user_id("d");
  refused(empty, "no pairs");
  auto blank = adapt;
  blank.mutable_pairs(1)->set_rejected("");
  refused(blank, "pair 1 of user c has an empty text");
  auto same = adapt;
  same.mutable_pairs(2)->set_rejected(same.pairs(2).chosen());
  refused(same, "the same text");
  auto many = adapt;
  for (int i = 0; i < 10; ++i) *many.add_pairs() = adapt.pairs(0);
  refused(many, "at most 8");
  auto nameless = adapt;
  nameless.set_user_id("");
  refused(nameless, "user id is empty");
  EXPECT_EQ(client.UserWeights("c").version(), 2) << "refused requests change nothing";
  const auto counters = running.server.Counters();
  EXPECT_EQ(counters.at("reward_lore_adaptations"), 2u);
  EXPECT_GE(counters.at("reward_lore_unknown_user_items"), 1u);
  // A server without LoRe says so.
  reward_server::RewardScorer plain({{std::make_shared<reward_server::AccuracyReward>(), 1.0}}, o);
  RunningServer other(plain, so);
  const auto no = RewardClient(net::Endpoint{"127.0.0.1", other.server.port()}).AdaptUser(adapt);
  EXPECT_EQ(no.status(), proto::UserWeightsReply::UNSUPPORTED);
  EXPECT_NE(no.error().find("reward.personalization=lore"), std::string::npos);
}

// ---------------------------------------------------------------- reward model

TEST(RewardModel, PairTruncationIsLongestFirst) {
  auto rm = RewardModel::Load(kBertTiny, 16);
  const auto& tok = rm->tokenizer();
  const std::string long_a = "alpha beta gamma delta epsilon zeta eta theta iota kappa lambda mu";
  const size_t a = tok.Encode(long_a).size(), b = tok.Encode("ok").size();
  ASSERT_GT(a, 13u);
  ASSERT_LE(b, 6u);
  const auto e = rm->Encode(long_a, "ok");
  ASSERT_EQ(e.ids.size(), 16u);  // [CLS] a [SEP] b [SEP]
  const size_t seconds = std::count(e.type_ids.begin(), e.type_ids.end(), 1);
  EXPECT_EQ(seconds, b + 1);  // the short side is kept whole (with its [SEP])
  const auto both_long = rm->Encode(long_a, long_a);
  EXPECT_EQ(std::count(both_long.type_ids.begin(), both_long.type_ids.end(), 0), 1 + 7 + 1);  // 13 split 7/6
  EXPECT_EQ(rm->Encode("a b", "c d").ids, tok.EncodePair("a b", "c d").ids);                  // fits: untouched
}

TEST(RewardModel, SaveLoadRoundTripInHuggingFaceLayout) {
  TempDir dir;
  auto rm = TinyRewardModel();
  EXPECT_TRUE(rm->new_head());
  const std::vector<std::pair<std::string, std::string>> qa = {{"a query", "an answer"}, {"x", "a longer answer here"}};
  const auto before = rm->ScoreTexts(qa);
  rm->Save(dir / "rm");
  const std::string config = util::ReadFile(dir / "rm/config.json");
  EXPECT_NE(config.find("BertForSequenceClassification"), std::string::npos);
  EXPECT_NE(config.find("\"num_labels\": 1"), std::string::npos);
  EXPECT_TRUE(std::filesystem::exists(dir / "rm/tokenizer.json"));
  auto again = RewardModel::Load(dir / "rm", 128);
  EXPECT_FALSE(again->new_head());
  const auto after = again->ScoreTexts(qa);
  for (size_t i = 0; i < qa.size(); ++i) EXPECT_FLOAT_EQ(before[i], after[i]);
  // Padding does not leak: a pair scores the same alone and beside a longer one.
  EXPECT_NEAR(again->ScoreTexts({qa[0]})[0], after[0], 1e-5);
}

TEST(RewardModel, BradleyTerryTrainingLearnsSyntheticPreferences) {
  pipeline::SyntheticOptions so;
  so.users = 120;
  so.seed = 3;
  const auto splits = pipeline::MakeSynthetic(so);
  const auto pairs = pipeline::SyntheticRmPairs(splits);
  ASSERT_GT(pairs.size(), 150u);
  auto rm = RewardModel::Load(kBertTiny, 64, 11);
  pipeline::RmTrainOptions o;
  o.lr = 1e-3;
  o.batch_size = 32;
  o.epochs = 6;
  const auto report = pipeline::TrainRewardModel(*rm, pairs, o);
  ASSERT_EQ(report.after_epoch.size(), 6u);
  EXPECT_EQ(report.eval_pairs, size_t(std::llround(0.1 * pairs.size())));
  // The loss falls (train and held-out), and held-out pairs are ranked right far above chance.
  EXPECT_LT(report.epoch_train_loss.back(), 0.6 * report.epoch_train_loss.front());
  EXPECT_LT(report.after_epoch.back().loss, 0.5 * report.before.loss);
  EXPECT_GE(report.after_epoch.back().accuracy, 0.85);
  std::printf("RM training: held-out accuracy %.3f -> %.3f, loss %.4f -> %.4f; train loss by epoch",
              report.before.accuracy, report.after_epoch.back().accuracy, report.before.loss,
              report.after_epoch.back().loss);
  for (double l : report.epoch_train_loss) std::printf(" %.4f", l);
  std::printf("\n");
}

TEST(RmPairs, FileErrorsNameTheLine) {
  TempDir dir;
  WriteBytes(dir / "ok.jsonl", "{\"query\":\"q\",\"chosen\":\"a\",\"rejected\":\"b\",\"id\":3}\n\n");
  const auto pairs = pipeline::ReadRmPairs(dir / "ok.jsonl");
  ASSERT_EQ(pairs.size(), 1u);
  EXPECT_EQ(pairs[0].id, "3");
  WriteBytes(dir / "bad.jsonl",
             "{\"query\":\"q\",\"chosen\":\"a\",\"rejected\":\"b\"}\n{\"query\":\"q\",\"chosen\":\"a\"}\n");
  ExpectErrorContaining([&] { pipeline::ReadRmPairs(dir / "bad.jsonl"); }, {"bad.jsonl:2", "rejected"});
  WriteBytes(dir / "json.jsonl", "{\"query\": \n");
  ExpectErrorContaining([&] { pipeline::ReadRmPairs(dir / "json.jsonl"); }, {"json.jsonl:1", "not valid JSON"});
  WriteBytes(dir / "type.jsonl", "{\"query\":1.5,\"chosen\":\"a\",\"rejected\":\"b\"}\n");
  ExpectErrorContaining([&] { pipeline::ReadRmPairs(dir / "type.jsonl"); }, {"type.jsonl:1", "\"query\"", "string"});
}

TEST(RmPairs, PrLMRecipeWithProfileVersusWithout) {
  pipeline::SyntheticOptions so;
  so.users = 12;
  const auto splits = pipeline::MakeSynthetic(so);
  retrieval_shards::IndexOptions io;
  io.built = {"bm25"};
  auto retriever = retrieval_shards::LocalRetriever::Build({&splits.train}, io);
  auto tokenizer =
      text::Tokenizer::FromFile(std::string(PRLM_SOURCE_DIR) + "/tests/fixtures/qwen2-tied/tokenizer.json");
  const std::string intro = data::PromptTemplateFor("LaMP_4").profile_intro;
  // A stand-in policy: with a profile it answers "styled N", without "plain N";
  // query 0 gets no answer at all, query 1 the same answer both ways.
  size_t calls = 0;
  const pipeline::CompletionFn complete = [&](const std::vector<std::vector<int32_t>>& prompts) {
    std::vector<std::string> out;
    for (size_t p = 0; p < prompts.size(); ++p) {
      const std::string text = tokenizer->Decode(prompts[p]);
      const bool with_profile = text.find(intro) != std::string::npos;
      EXPECT_EQ(with_profile, p % 2 == 0);
      const size_t query = calls + p / 2;
      if (query == 0)
        out.push_back("<think>hmm");
      else if (query == 1)
        out.push_back("<think>r</think><answer>same</answer>");
      else
        out.push_back(std::string("<think>r</think><answer>") + (with_profile ? "styled " : "plain ") +
                      std::to_string(query) + "</answer>");
    }
    calls += prompts.size() / 2;
    return out;
  };
  pipeline::RmPairOptions o;
  o.k = 3;
  o.batch_size = 5;
  o.limit = 12;
  pipeline::RmPairStats stats;
  const auto pairs = pipeline::MakeRmPairs(splits.train, *retriever, *tokenizer, complete, o, &stats);
  EXPECT_EQ(stats.queries, 12u);
  EXPECT_EQ(stats.both_empty, 1u);
  EXPECT_EQ(stats.identical, 1u);
  ASSERT_EQ(pairs.size(), 10u);
  EXPECT_EQ(stats.pairs, 10u);
  EXPECT_EQ(pairs[0].chosen, "styled 2");
  EXPECT_EQ(pairs[0].rejected, "plain 2");
  EXPECT_EQ(pairs[0].id, splits.train.examples[2].id);
  EXPECT_EQ(pairs[0].query, splits.train.examples[2].input);
}

// ---------------------------------------------------------------- CLI

TEST(RewardCli, TrainServeScoreAndSigtermDrain) {
  TempDir dir;
  const std::string prlm = PRLM_BINARY;
  const auto run = [&](const std::string& cmd) {
    return std::system((cmd + " >> " + dir / "cli.log" + " 2>&1").c_str());
  };
  ASSERT_EQ(run(prlm + " make-synthetic --users 40 --out " + dir / "data" + " --rm-pairs " + dir / "pairs.jsonl"), 0);
  ASSERT_EQ(run(prlm + " train-rm --init " + kBertTiny + " --pairs " + dir / "pairs.jsonl" + " --out " + dir / "rm" +
                " --epochs 1 --batch-size 16 --max-length 64"),
            0)
      << util::ReadFile(dir / "cli.log");
  EXPECT_TRUE(std::filesystem::exists(dir / "rm/training_report.json"));
  // PrLM's pair recipe end to end with a (random) policy: every query accounted for.
  ASSERT_EQ(run(prlm + " init-model --out " + dir / "policy"), 0);
  ASSERT_EQ(run(prlm + " make-rm-pairs --policy " + dir / "policy" + " --data " + dir / "data" +
                " --k 2 --limit 4 --max-new-tokens 8 --out " + dir / "made.jsonl"),
            0)
      << util::ReadFile(dir / "cli.log");
  EXPECT_NE(util::ReadFile(dir / "cli.log").find("from 4 queries"), std::string::npos)
      << util::ReadFile(dir / "cli.log");
  EXPECT_TRUE(std::filesystem::exists(dir / "made.jsonl"));
  // A malformed pairs file is refused with its line.
  WriteBytes(dir / "broken.jsonl", "{\"query\":\"q\",\"chosen\":\"a\",\"rejected\":\"b\"}\nnot json\n");
  EXPECT_NE(run(prlm + " train-rm --init " + kBertTiny + " --pairs " + dir / "broken.jsonl" + " --out " + dir / "x"),
            0);
  EXPECT_NE(util::ReadFile(dir / "cli.log").find("broken.jsonl:2"), std::string::npos);
  // Records for `prlm score`: one well-formed, one without an answer.
  WriteBytes(dir / "records.jsonl",
             "{\"query\":\"q\",\"completion\":\"<think>r</think><answer>Park plan approved</answer>\","
             "\"gold\":\"Park plan approved\",\"user_id\":\"u1\"}\n"
             "{\"query\":\"q\",\"completion\":\"nothing\",\"output\":\"Park plan approved\",\"user_id\":\"u2\"}\n");
  const std::string script =
      "set -e; " + prlm + " make-secret --out " + dir / "secret" + " > /dev/null; " + prlm +
      " serve-reward --secret-file " + dir / "secret" + " --model " + dir / "rm" + " --max-length 64 > " +
      dir / "serve.log" + " 2>&1 & pid=$!; for i in $(seq 200); do grep -q listening " + dir / "serve.log" +
      " && break; sleep 0.1; done; port=$(sed -n 's/.*listening on 127.0.0.1:\\([0-9]*\\).*/\\1/p' " +
      dir / "serve.log" + "); " + prlm + " score --secret-file " + dir / "secret" +
      " --server 127.0.0.1:$port --input " + dir / "records.jsonl" + " > " +
      dir / "scores.jsonl; kill -TERM $pid; wait $pid; echo rc=$? >> " + dir / "serve.log";
  WriteBytes(dir / "run.sh", script);
  ASSERT_EQ(std::system(("bash " + dir / "run.sh").c_str()), 0) << util::ReadFile(dir / "serve.log");
  const std::string log = util::ReadFile(dir / "serve.log");
  EXPECT_NE(log.find("drained and stopped"), std::string::npos) << log;
  EXPECT_NE(log.find("rc=0"), std::string::npos) << log;
  const std::string scores = util::ReadFile(dir / "scores.jsonl");
  EXPECT_NE(scores.find("\"line\":1,\"reward\":3.1"), std::string::npos) << scores;  // 3 + 0.1 + 0.1 * sigmoid
  EXPECT_NE(scores.find("\"line\":2,\"reward\":0.0"), std::string::npos) << scores;
  EXPECT_NE(scores.find("\"rm_score\""), std::string::npos) << scores;
}

}  // namespace
}  // namespace prlm::reward
