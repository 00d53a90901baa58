// The training step's pieces in one process: learner micro-batch log-probs
// against the generation code's, the rollout worker (retrieval, grouped
// sampling, scoring, sft targets), the data order across epochs and resume,
// micro-batch planning, and checkpoint bookkeeping.
#include <gtest/gtest.h>

#include <ATen/autocast_mode.h>

#include <algorithm>
#include <filesystem>
#include <set>
#include <thread>

#include "common/model/compute_setup.h"
#include "common/generation/generate.h"
#include "common/model/logprobs.h"
#include "common/model/pretrained.h"
#include "common/util/check.h"
#include "coordinator/batch_plan.h"
#include "coordinator/checkpoints.h"
#include "coordinator/data_order.h"
#include "learner/policy_batch.h"
#include "pipeline/bpe_trainer.h"
#include "pipeline/synthetic.h"
#include "retrieval_shards/local_retriever.h"
#include "reward_server/reward_scorer.h"
#include "reward_server/text_rewards.h"
#include "common/comm/weight_relay.h"
#include "coordinator/rollout_gateway.h"
#include "rollout_workers/gateway_worker.h"
#include "rollout_workers/rollout_worker.h"
#include "tests/server_test_util.h"
#include "tests/model_fixtures.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

model::CausalLM TinyPolicy(int64_t vocab, std::vector<int64_t> eos = {}) {
  auto cfg = model::DecoderPreset("tiny", vocab);
  cfg.num_hidden_layers = 2;
  cfg.eos_token_ids = std::move(eos);
  return prlm::testing::RandomCausalLM(cfg, 0.02, 5);
}

TEST(PolicyBatch, CompletionLogprobsMatchTheGenerationCode) {
  torch::NoGradGuard no_grad;
  auto policy = TinyPolicy(50);
  proto::MicroBatch mb;
  const std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>> rows = {
      {{1, 2, 3}, {4, 5}}, {{7, 8, 9, 10, 11}, {12}}, {{3}, {4, 5, 6, 7}}};
  for (const auto& [p, c] : rows) {
    auto* s = mb.add_sequences();
    s->mutable_prompt()->Add(p.begin(), p.end());
    s->mutable_completion()->Add(c.begin(), c.end());
  }
  const auto batch = learner::MakePolicyBatch(mb, torch::kCPU);
  EXPECT_EQ(batch.prompt_width, 5);
  EXPECT_EQ(batch.tokens(), 7);
  const auto scores = learner::ScoreCompletions(policy, batch, 0.7, true);
  for (size_t b = 0; b < rows.size(); ++b) {
    std::vector<int32_t> whole = rows[b].first;
    whole.insert(whole.end(), rows[b].second.begin(), rows[b].second.end());
    const auto expected = model::SequenceLogprobs(policy, {whole}, 0.7)[0];
    const size_t p = rows[b].first.size();
    for (size_t t = 0; t < rows[b].second.size(); ++t)
      EXPECT_NEAR(scores.logprobs[b][t].item<double>(), expected[p - 1 + t], 1e-4) << "row " << b << " token " << t;
    for (int64_t t = static_cast<int64_t>(rows[b].second.size()); t < 4; ++t)
      EXPECT_EQ(scores.logprobs[b][t].item<double>(), 0.0) << "padding carries no log-prob";
  }
  // Entropy of a softmax over 50 tokens lies in (0, log 50].
  EXPECT_GT(scores.entropy[0][0].item<double>(), 0.0);
  EXPECT_LE(scores.entropy[0][0].item<double>(), std::log(50.0) + 1e-4);
}

// grpo.old_logprobs=rollout: the log-probs a rollout worker records while
// sampling (temperature, top-p and top-k on) are the learner's scores of
// the same tokens at that temperature, so they can stand in for the old
// policy's; a micro-batch where a sequence lacks them has none.
TEST(PolicyBatch, SampledLogprobsAreTheLearnersScoresAtTheSamplingTemperature) {
  torch::NoGradGuard no_grad;
  auto policy = TinyPolicy(50);
  generation::SamplingParams sampling;
  sampling.max_new_tokens = 6;
  sampling.temperature = 0.7;
  sampling.top_p = 0.9;
  sampling.top_k = 20;
  const std::vector<std::vector<int32_t>> prompts = {{1, 2, 3}, {7, 8, 9, 10, 11}};
  proto::MicroBatch mb;
  for (const auto& p : prompts) {
    const auto samples = generation::Generate(policy, {generation::GenerationRequest{p, {3, 4}}}, sampling);
    for (const auto& c : samples[0]) {
      auto* s = mb.add_sequences();
      s->mutable_prompt()->Add(p.begin(), p.end());
      s->mutable_completion()->Add(c.tokens.begin(), c.tokens.end());
      s->mutable_rollout_logprobs()->Add(c.logprobs.begin(), c.logprobs.end());
    }
  }
  const auto batch = learner::MakePolicyBatch(mb, torch::kCPU);
  ASSERT_TRUE(batch.rollout_logprobs.defined());
  const auto scored = learner::ScoreCompletions(policy, batch, 0.7, false).logprobs;
  const auto& mask = batch.completion_mask;
  EXPECT_GT(mask.sum().item<double>(), 4.0);
  EXPECT_LT(((scored - batch.rollout_logprobs).abs() * mask).max().item<double>(), 1e-4);
  EXPECT_GT((scored.abs() * mask).max().item<double>(), 1e-3) << "the log-probs compared are not all zero";

  mb.mutable_sequences(1)->clear_rollout_logprobs();
  EXPECT_FALSE(learner::MakePolicyBatch(mb, torch::kCPU).rollout_logprobs.defined());
}

// Mixed precision: bf16 matrix products over fp32 weights give the fp32
// log-probs to bf16 accuracy, gradients reach the fp32 weights in fp32, and
// autocast is off again after the forward pass.
TEST(PolicyBatch, MixedPrecisionScoresNearFp32AndTrainsFp32Weights) {
  auto policy = TinyPolicy(50);
  proto::MicroBatch mb;
  auto* s = mb.add_sequences();
  for (int32_t t : {1, 2, 3, 4}) s->add_prompt(t);
  for (int32_t t : {5, 6, 7}) s->add_completion(t);
  const auto batch = learner::MakePolicyBatch(mb, torch::kCPU);
  const auto fp32 = learner::ScoreCompletions(policy, batch, 1.0, false).logprobs.detach();
  const auto mixed = learner::ScoreCompletions(policy, batch, 1.0, false, torch::kBFloat16);
  EXPECT_FALSE(at::autocast::is_cpu_enabled());
  EXPECT_EQ(mixed.logprobs.scalar_type(), torch::kFloat);
  const double diff = (mixed.logprobs.detach() - fp32).abs().max().item<double>();
  EXPECT_GT(diff, 0.0) << "the matrix products ran in bf16";
  EXPECT_LT(diff, 0.05) << "bf16 has 8 significant bits; log-probs of about -4 move by a few hundredths at most";
  mixed.logprobs.sum().backward();
  const auto w = policy->named_parameters()["model.layers.0.self_attn.q_proj.weight"];
  ASSERT_TRUE(w.grad().defined());
  EXPECT_EQ(w.grad().scalar_type(), torch::kFloat);
  EXPECT_GT(w.grad().abs().sum().item<double>(), 0.0);
}

// Rows that share prompt tokens run them once (the common prefix, then each
// distinct prompt's rest, then the completions, the keys and values
// repeated from stage to stage): the log-probs and the gradients are those
// of one forward over the whole rows.
TEST(PolicyBatch, SharedPromptTokensScoreAsWholeRows) {
  using Rows = std::vector<std::pair<std::vector<int32_t>, std::vector<int32_t>>>;
  struct Case {
    const char* name;
    Rows rows;
    int64_t common, distinct, rest_width;  // expected L, U, R; U = 0: nothing shared
  };
  const std::vector<Case> cases = {
      {"groups with a common prefix",
       {{{1, 2, 3, 4}, {5, 6, 7}},
        {{1, 2, 9, 8}, {7}},
        {{1, 2, 3, 4}, {8}},
        {{1, 2, 3, 4}, {6, 5}},
        {{1, 2, 9, 8}, {2, 3, 4, 5}},
        {{1, 2, 13}, {14, 15}}},
       2,
       3,
       2},
      {"one group (a GRPO micro-batch)", {{{3, 1, 4}, {1, 5}}, {{3, 1, 4}, {9}}, {{3, 1, 4}, {2, 6, 5}}}, 2, 1, 1},
      {"distinct prompts with a common prefix (sft)",
       {{{7, 7, 1, 2}, {3}}, {{7, 7, 5}, {6, 8}}, {{7, 7, 9, 10, 11}, {12, 13}}},
       2,
       3,
       3},
      {"groups without a common prefix", {{{1, 2}, {3}}, {{4, 5, 6}, {7, 8}}, {{1, 2}, {9, 9}}}, 0, 2, 3},
      {"nothing shared", {{{1, 2}, {3}}, {{4, 5}, {6}}}, 0, 0, 0},
  };
  auto policy = TinyPolicy(50);
  policy->train();
  // A loss that weighs every token differently, so each gradient path counts.
  auto scores_and_grads = [&](const learner::PolicyBatch& batch) {
    for (auto& p : policy->parameters()) p.mutable_grad() = torch::Tensor();
    const auto scores = learner::ScoreCompletions(policy, batch, 0.7, true);
    const auto weights = torch::arange(1, 1 + scores.logprobs.numel(), torch::kFloat).view(scores.logprobs.sizes());
    (scores.logprobs * weights * batch.advantages.unsqueeze(1)).sum().backward();
    std::vector<torch::Tensor> grads;
    for (auto& p : policy->parameters()) grads.push_back(p.grad().clone());
    return std::make_pair(scores, grads);
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.name);
    proto::MicroBatch mb;
    for (size_t b = 0; b < c.rows.size(); ++b) {
      auto* s = mb.add_sequences();
      s->mutable_prompt()->Add(c.rows[b].first.begin(), c.rows[b].first.end());
      s->mutable_completion()->Add(c.rows[b].second.begin(), c.rows[b].second.end());
      s->set_advantage(static_cast<double>(b) - 2.5);
    }
    const auto shared = learner::MakePolicyBatch(mb, torch::kCPU);
    if (c.distinct == 0) {
      EXPECT_FALSE(shared.prompt_of_row.defined());
      continue;
    }
    ASSERT_TRUE(shared.prompt_of_row.defined());
    EXPECT_EQ(shared.common_prefix.defined() ? shared.common_prefix.size(1) : 0, c.common);
    EXPECT_EQ(shared.prompt_rests.size(0), c.distinct);
    EXPECT_EQ(shared.prompt_rests.size(1), c.rest_width);
    const auto [a, grads_shared] = scores_and_grads(shared);
    const auto [b, grads_whole] = scores_and_grads(learner::WholeRows(shared));
    EXPECT_LT((a.logprobs - b.logprobs).abs().max().item<double>(), 1e-5);
    EXPECT_LT((a.entropy - b.entropy).abs().max().item<double>(), 1e-5);
    ASSERT_EQ(grads_shared.size(), grads_whole.size());
    for (size_t i = 0; i < grads_shared.size(); ++i) {
      const double scale = grads_whole[i].abs().max().item<double>();
      ASSERT_GT(scale, 0.0) << "parameter " << i << " gets a gradient";
      EXPECT_LT((grads_shared[i] - grads_whole[i]).abs().max().item<double>(), 1e-4 * scale) << "parameter " << i;
    }
  }
}

class RolloutWorkerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    pipeline::SyntheticOptions o;
    o.users = 12;
    splits_ = pipeline::MakeSynthetic(o);
    retrieval_shards::IndexOptions io;
    io.built = {"bm25"};
    retriever_ = retrieval_shards::LocalRetriever::Build({&splits_.train}, io);
    std::vector<std::string> corpus;
    for (const auto& ex : splits_.train.examples) corpus.push_back(ex.input);
    pipeline::BpeTrainerOptions bo;
    bo.vocab_size = 600;
    tokenizer_ = text::Tokenizer::FromJsonText(pipeline::TrainByteLevelBpe(corpus, bo), "test corpus");
    scorer_ = std::make_unique<reward_server::RewardScorer>(
        std::vector<reward_server::WeightedComponent>{{std::make_shared<reward_server::AccuracyReward>(), 1.0},
                                                      {std::make_shared<reward_server::FormatReward>(), 0.1}},
        reward_server::ScorerOptions());
  }

  rollout_workers::RolloutWorker Worker(config::PartialRollouts partial = config::PartialRollouts::kOff) {
    config::TrainConfig c;
    c.grpo.partial_rollouts = partial;
    c.retrieval.k = 2;
    c.grpo.max_prompt_tokens = 2048;
    c.grpo.group_size = 3;
    c.grpo.max_completion_tokens = 6;
    c.grpo.temperature = 0.7;
    const int32_t eos = *tokenizer_->TokenToId("<|im_end|>");
    return rollout_workers::RolloutWorker(
        TinyPolicy(tokenizer_->vocab_size(), {eos}), tokenizer_, retriever_.get(),
        [this](const proto::ScoreRequest& r) { return scorer_->ScoreNow(r); }, c, "LaMP_4");
  }

  proto::RolloutWork Work(std::vector<size_t> which, bool sft = false) {
    proto::RolloutWork w;
    w.set_step(3);
    w.set_prompts_only(sft);
    for (size_t i : which) {
      const auto& ex = splits_.train.examples[i];
      auto* p = w.add_prompts();
      p->set_index(i);
      p->set_user_id(ex.user_id);
      p->set_input(ex.input);
      p->set_query(ex.query);
      p->set_gold(*ex.output);
    }
    return w;
  }

  pipeline::SyntheticSplits splits_;
  std::unique_ptr<retrieval_shards::LocalRetriever> retriever_;
  std::shared_ptr<const text::Tokenizer> tokenizer_;
  std::unique_ptr<reward_server::RewardScorer> scorer_;
};

TEST_F(RolloutWorkerTest, GroupsAreScoredStampedAndIndependentOfTheBatch) {
  auto worker = Worker();
  worker.set_weight_version(9);
  const auto both = worker.Run(Work({0, 1}));
  EXPECT_EQ(both.weight_version(), 9);
  ASSERT_EQ(both.groups_size(), 2);
  for (const auto& g : both.groups()) {
    EXPECT_TRUE(g.error().empty()) << g.error();
    EXPECT_GT(g.prompt_size(), 0);
    EXPECT_EQ(g.items_used(), 2);
    ASSERT_EQ(g.samples_size(), 3);
    for (const auto& s : g.samples()) {
      EXPECT_EQ(s.tokens_size(), s.logprobs_size());
      EXPECT_LE(s.tokens_size(), 6);
      EXPECT_GE(s.components_size(), 2);  // accuracy's outputs and format
    }
  }
  // Prompt 1 alone draws the same samples: seeds come from (step, index, sample).
  const auto tokens = [](const proto::RolloutSample& s) {
    return std::vector<int32_t>(s.tokens().begin(), s.tokens().end());
  };
  const auto alone = worker.Run(Work({1}));
  for (int s = 0; s < 3; ++s)
    EXPECT_EQ(tokens(alone.groups(0).samples(s)), tokens(both.groups(1).samples(s))) << "sample " << s;
  EXPECT_NE(tokens(both.groups(1).samples(0)), tokens(both.groups(1).samples(1)))
      << "samples of a group draw from their own streams";
}

// Partial rollouts: weights that join between decode steps of an item.
// continue: a sample's tokens change version once, mid-sample; requeue: a
// sample that had drawn tokens restarts, so it holds one version only.
TEST_F(RolloutWorkerTest, WeightsJoiningMidItemStampEachTokenWithItsVersion) {
  for (const auto mode : {config::PartialRollouts::kContinue, config::PartialRollouts::kRequeue}) {
    SCOPED_TRACE(std::string(config::NameOf(mode)));
    auto worker = Worker(mode);
    worker.set_weight_version(4);
    int calls = 0;
    worker.set_weight_feed([&](int64_t held) -> int64_t {
      EXPECT_EQ(held, calls < 4 ? 4 : 5);
      if (++calls != 4) return -1;
      torch::NoGradGuard no_grad;
      torch::manual_seed(7);
      for (auto& t : worker.TrainableParameters()) t.add_(torch::randn_like(t) * 0.05);
      return 5;
    });
    const auto r = worker.Run(Work({0, 1, 2}));
    EXPECT_EQ(r.weight_version(), 4) << "the version the item started with";
    EXPECT_EQ(worker.weight_version(), 5);
    int mixed = 0, newer = 0;
    for (const auto& g : r.groups())
      for (const auto& s : g.samples()) {
        if (s.versions().empty()) continue;  // finished before the update
        ASSERT_EQ(s.versions_size(), s.tokens_size());
        EXPECT_TRUE(std::is_sorted(s.versions().begin(), s.versions().end()));
        for (int64_t v : s.versions()) EXPECT_TRUE(v == 4 || v == 5) << v;
        ++newer;
        if (s.versions(0) != s.versions(s.versions_size() - 1)) ++mixed;
      }
    EXPECT_GT(newer, 0) << "some sample ran on after the fourth step";
    if (mode == config::PartialRollouts::kContinue)
      EXPECT_GT(mixed, 0) << "samples went on under the new weights";
    else
      EXPECT_EQ(mixed, 0) << "samples restarted under the new weights";
  }
}

// The worker's side of partial rollouts end to end over loopback: while an
// item runs, learner 0 publishes v1; a lease renewal names it, the worker
// fetches it on its own thread into its store, and the engine takes it
// before the next decode step. (The item waits for the fetch, so every
// token is v1's; whether a real swap lands mid-sample is timing.)
TEST_F(RolloutWorkerTest, AVersionPublishedDuringAnItemIsFetchedInTheBackgroundAndJoinsIt) {
  const std::string secret(32, 'p');
  auto worker = Worker(config::PartialRollouts::kContinue);
  comm::WeightStore learner_store;
  learner_store.Publish(0, worker.TrainableParameters());
  std::vector<torch::Tensor> newer;
  torch::manual_seed(3);
  for (const auto& t : worker.TrainableParameters()) newer.push_back(t.detach().clone() + torch::randn_like(t) * 0.05);
  net::SecureServer learner(net::SecureServer::Options(secret, 60),
                            [&](net::RpcServer& s) { comm::ServeWeights(s, learner_store, std::chrono::seconds(10)); });
  coordinator::GatewayOptions go;
  go.partial_rollouts = true;
  go.lease = std::chrono::milliseconds(2000);  // renewals every 0.5 s
  go.poll = std::chrono::milliseconds(200);
  go.learner_weights = "127.0.0.1:" + std::to_string(learner.server.port());
  coordinator::RolloutGateway gateway(std::make_unique<net::RpcServer>(net::SecureServer::Options(secret, 60)), go);
  comm::WeightStore worker_store;
  rollout_workers::WeightServer weights("127.0.0.1", secret, /*tls=*/false, worker_store);
  rollout_workers::GatewayWorker gw({"127.0.0.1", gateway.port()}, rollout_workers::ElasticClientOptions(secret, false),
                                    weights.address(), &worker_store, std::chrono::seconds(20));
  gw.Join("w");
  gateway.Post(3, 0, {Work({0, 1})});
  bool fetched = false;
  std::thread serve([&] {
    gw.Serve(worker, [&](const proto::RolloutWork& work) {
      learner_store.Publish(1, newer);
      gateway.Publish(1);
      for (int i = 0; i < 1000 && !worker_store.Complete(1); ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
      fetched = worker_store.Complete(1);
      return worker.Run(work);
    });
  });
  const auto c = gateway.Collect(3, std::chrono::seconds(60));
  gateway.Stop(std::chrono::seconds(10));
  serve.join();
  EXPECT_TRUE(fetched) << "the renewal named v1 and the worker fetched it while its item ran";
  ASSERT_EQ(c.results.size(), 1u);
  EXPECT_EQ(c.results[0].weight_version(), 0) << "the item started at v0";
  EXPECT_EQ(worker.weight_version(), 1);
  int samples = 0;
  for (const auto& g : c.results[0].groups())
    for (const auto& s : g.samples()) {
      ++samples;
      ASSERT_EQ(s.versions_size(), s.tokens_size());
      for (int64_t v : s.versions()) EXPECT_EQ(v, 1);
    }
  EXPECT_EQ(samples, 6);
  const auto now = worker.TrainableParameters();
  for (size_t i = 0; i < now.size(); ++i) EXPECT_TRUE(torch::equal(now[i], newer[i])) << "tensor " << i;
}

TEST_F(RolloutWorkerTest, SftWorkCarriesTheTargetEndingInEos) {
  auto worker = Worker();
  const auto r = worker.Run(Work({2}, /*sft=*/true));
  ASSERT_EQ(r.groups_size(), 1);
  ASSERT_EQ(r.groups(0).samples_size(), 1);
  const auto& tokens = r.groups(0).samples(0).tokens();
  EXPECT_EQ(tokens[tokens.size() - 1], *tokenizer_->TokenToId("<|im_end|>"));
  const std::string text = tokenizer_->Decode(std::vector<int32_t>(tokens.begin(), tokens.end() - 1));
  EXPECT_EQ(text,
            rollout_workers::SftTarget(config::TrainConfig().grpo.sft_template, *splits_.train.examples[2].output));
  EXPECT_NE(text.find("<answer>" + *splits_.train.examples[2].output + "</answer>"), std::string::npos);
}

// With a reasoning path (grpo.sft_reasoning) the target is the reasoning
// template: the path inside <think>, then the answer.
TEST_F(RolloutWorkerTest, SftWorkWithAReasoningPathPutsItInsideThink) {
  auto worker = Worker();
  auto work = Work({2}, /*sft=*/true);
  work.mutable_prompts(0)->set_reasoning("Their headlines: upper case, short.");
  const auto r = worker.Run(work);
  const auto& tokens = r.groups(0).samples(0).tokens();
  const std::string text = tokenizer_->Decode(std::vector<int32_t>(tokens.begin(), tokens.end() - 1));
  const std::string& gold = *splits_.train.examples[2].output;
  EXPECT_EQ(text, "<think>\nTheir headlines: upper case, short.\n</think>\n<answer>" + gold + "</answer>");
  EXPECT_EQ(rollout_workers::SftTarget("{reasoning}|{output}|{reasoning}", "g", "r"), "r|g|r");
}

TEST_F(RolloutWorkerTest, AnUnknownUserIsReportedNotFatal) {
  auto worker = Worker();
  auto work = Work({0});
  work.mutable_prompts(0)->set_user_id("nobody");
  const auto r = worker.Run(work);
  ASSERT_EQ(r.groups_size(), 1);
  EXPECT_NE(r.groups(0).error().find("nobody"), std::string::npos) << r.groups(0).error();
  EXPECT_EQ(r.groups(0).samples_size(), 0);
}

TEST(DataOrder, EpochsArePermutationsAndResumeAtAnEpochBoundaryIsExact) {
  coordinator::DataOrder order(10, 3, 42);  // 3 steps per epoch, 1 question left over each epoch
  EXPECT_EQ(order.steps_per_epoch(), 3);
  coordinator::DataCursor straight;
  std::vector<std::vector<int64_t>> steps;
  for (int i = 0; i < 7; ++i) steps.push_back(order.Next(straight));
  std::set<int64_t> epoch0;
  for (int i = 0; i < 3; ++i) epoch0.insert(steps[i].begin(), steps[i].end());
  EXPECT_EQ(epoch0.size(), 9u) << "an epoch never repeats a question";
  EXPECT_NE(steps[0], steps[3]) << "each epoch has its own order";
  // A cursor saved after step 3 (the end of epoch 0) continues the same way.
  coordinator::DataCursor resumed;
  for (int i = 0; i < 3; ++i) order.Next(resumed);
  EXPECT_EQ(resumed.epoch, 0);
  EXPECT_EQ(resumed.position, 9);
  coordinator::DataCursor copy = resumed;
  for (int i = 3; i < 7; ++i) EXPECT_EQ(order.Next(copy), steps[static_cast<size_t>(i)]) << "step " << i;
  EXPECT_EQ(coordinator::DataOrder(10, 3, 42).Permutation(5), order.Permutation(5)) << "deterministic";
  EXPECT_THROW(coordinator::DataOrder(2, 3, 1), prlm::util::Error);
}

TEST(BatchPlan, MicroBatchesDoNotDependOnLearnersAndLoadsBalance) {
  const std::vector<int64_t> tokens = {50, 10, 40, 30, 20, 60, 5, 25};
  const std::vector<int64_t> own_group = {0, 1, 2, 3, 4, 5, 6, 7};
  const auto plan = coordinator::PlanMicroBatches(tokens, own_group, 3);
  ASSERT_EQ(plan.size(), 3u);
  EXPECT_EQ(plan[0], (std::vector<size_t>{5, 0, 2})) << "longest first";
  EXPECT_EQ(plan[2], (std::vector<size_t>{1, 6}));
  // Two groups of four (the samples of two prompts): each stays one
  // micro-batch, the group with the longest sequence first.
  const std::vector<int64_t> two_groups = {0, 1, 0, 1, 0, 1, 0, 1};
  const auto grouped = coordinator::PlanMicroBatches(tokens, two_groups, 4);
  ASSERT_EQ(grouped.size(), 2u);
  EXPECT_EQ(grouped[0], (std::vector<size_t>{5, 3, 7, 1})) << "group 1 holds the 60";
  EXPECT_EQ(grouped[1], (std::vector<size_t>{0, 2, 4, 6}));
  const std::vector<int64_t> mb = {100, 90, 40, 35, 30};
  const auto owner = coordinator::AssignToLearners(mb, 2);
  std::vector<int64_t> load(2, 0);
  for (size_t i = 0; i < mb.size(); ++i) load[static_cast<size_t>(owner[i])] += mb[i];
  EXPECT_EQ(load, (std::vector<int64_t>{135, 160})) << "100 | 90, 40 -> the lighter | 35 | 30";
}

TEST(Checkpoints, OnlyCompleteCheckpointsCountAndTheOldestGo) {
  testing::TempDir dir;
  const std::string run = dir.str();
  EXPECT_EQ(coordinator::ResolveResume(run, "auto"), "") << "nothing to resume yet";
  for (int step : {2, 4, 6}) {
    const std::string ck = coordinator::CheckpointDir(run, step);
    std::filesystem::create_directories(ck + ".tmp");
    coordinator::TrainerState s;
    s.step = step;
    s.cursor = {1, 8};
    if (step == 6) s.out_steps = {{6, 4}, {7, 5}};  // a preemption at k = 3: two steps out
    coordinator::WriteTrainerState(ck + ".tmp", s);
    coordinator::CommitCheckpoint(run, ck, 2);
  }
  std::filesystem::create_directories(coordinator::CheckpointDir(run, 8) + ".tmp");  // died while writing
  const auto all = coordinator::ListCheckpoints(run);
  ASSERT_EQ(all.size(), 2u);
  EXPECT_EQ(coordinator::ResolveResume(run, "auto"), coordinator::CheckpointDir(run, 6));
  const auto s = coordinator::ReadTrainerState(all.back());
  EXPECT_EQ(s.step, 6);
  EXPECT_EQ(s.cursor.position, 8);
  const std::vector<std::pair<int64_t, int64_t>> out = {{6, 4}, {7, 5}};
  EXPECT_EQ(s.out_steps, out);
  EXPECT_TRUE(coordinator::ReadTrainerState(all.front()).out_steps.empty()) << "none out: no key";
  testing::ExpectErrorContaining([&] { coordinator::ResolveResume(run, run + "/nowhere"); },
                                 {"trainer.resume", "nowhere"});
  testing::WriteBytes(all.back() + "/trainer_state.json", "{\"step\": 6}");
  testing::ExpectErrorContaining([&] { coordinator::ReadTrainerState(all.back()); }, {"trainer_state.json", "epoch"});
}

// model.policy naming a training run: its newest intact checkpoint's policy.
TEST(Checkpoints, APolicyThatIsATrainingRunIsItsNewestCheckpointsPolicy) {
  testing::TempDir dir;
  const std::string run = dir.str() + "/sft", model = dir.str() + "/model";
  std::filesystem::create_directories(run + "/checkpoints");
  testing::ExpectErrorContaining([&] { coordinator::PolicyOfRun(run); }, {"model.policy", run, "no checkpoint yet"});
  for (int step : {3, 5}) {
    const std::string ck = coordinator::CheckpointDir(run, step);
    std::filesystem::create_directories(ck + ".tmp/policy");
    coordinator::TrainerState s;
    s.step = step;
    coordinator::WriteTrainerState(ck + ".tmp", s);
    coordinator::CommitCheckpoint(run, ck, 2);
  }
  EXPECT_EQ(coordinator::PolicyOfRun(run), coordinator::CheckpointDir(run, 5) + "/policy");
  std::filesystem::create_directories(model + "/checkpoints");  // a model directory, whatever else it holds
  testing::WriteBytes(model + "/config.json", "{}");
  EXPECT_EQ(coordinator::PolicyOfRun(model), model);
  EXPECT_EQ(coordinator::PolicyOfRun(dir.str() + "/not-yet"), dir.str() + "/not-yet") << "its load names it";
}

}  // namespace
}  // namespace prlm

namespace prlm {
namespace {

TEST(GpuPlacement, LocalModelRanksTakeTheVisibleGpusInTurn) {
  // 4 model ranks on a node with 4 visible GPUs: one each.
  for (int slot = 0; slot < 4; ++slot) EXPECT_EQ(model::GpuForLocalSlot(slot, 4), slot);
  // 3 ranks, CUDA_VISIBLE_DEVICES naming 2 GPUs: round-robin within them.
  EXPECT_EQ(model::GpuForLocalSlot(2, 2), 0);
  EXPECT_EQ(model::GpuForLocalSlot(1, 1), 0) << "one visible GPU (e.g. srun --gpus-per-task=1): always ordinal 0";
  EXPECT_EQ(model::GpuForLocalSlot(0, 0), -1) << "no GPU";
  testing::ExpectErrorContaining([] { model::ResolveDevice("tpu"); }, {"unknown device 'tpu'", "cuda:N"});
  if (!torch::cuda::is_available())
    testing::ExpectErrorContaining([] { model::ResolveDevice("cuda:1"); }, {"cuda:1", "no CUDA device"});
}

}  // namespace
}  // namespace prlm
