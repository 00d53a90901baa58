// ROPG's retriever losses (pipeline/ropg_loss.h) against
// hand-computed values: the RL loss and its gradient, a zero advantage for
// the first-stage top, KD's KL, KD with a one-hot teacher equal to the
// cross-entropy of its target, and shapes refused by name.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <fstream>

#include "common/model/pretrained.h"
#include "pipeline/ropg_loss.h"
#include "common/util/rng.h"
#include "pipeline/retriever_feedback.h"
#include "pipeline/retriever_trainer.h"
#include "pipeline/synthetic.h"
#include "retrieval_shards/local_retriever.h"
#include "tests/test_util.h"

namespace prlm::objective {
namespace {

using testing::ExpectErrorContaining;

TEST(RopgLoss, RlIsMinusLogProbabilityTimesTheAdvantageOverTheFirstCandidate) {
  auto scores = torch::tensor({{0.0, 1.0, 2.0}}, torch::kDouble).set_requires_grad(true);
  const auto utilities = torch::tensor({{0.2, 0.5, 0.9}}, torch::kDouble);
  const double lse = std::log(std::exp(0.0) + std::exp(1.0) + std::exp(2.0));
  const auto loss = pipeline::RopgRlLoss(scores, utilities, torch::tensor({2}, torch::kLong));
  EXPECT_NEAR(loss.item<double>(), -(2.0 - lse) * (0.9 - 0.2), 1e-12);
  loss.backward();
  // d/ds_j of -A log p(d) = -A (1[j = d] - p_j).
  for (int j = 0; j < 3; ++j) {
    const double p = std::exp(j - lse);
    EXPECT_NEAR(scores.grad()[0][j].item<double>(), -0.7 * ((j == 2) - p), 1e-12) << j;
  }
  // Drawing the first-stage top has no advantage; a worse draw pushes it down.
  EXPECT_NEAR(pipeline::RopgRlLoss(scores, utilities, torch::tensor({0}, torch::kLong)).item<double>(), 0.0, 1e-12);
  const auto two = torch::tensor({{0.0, 0.0}, {1.0, 0.0}}, torch::kDouble);
  const auto u2 = torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kDouble);
  const double want = (-(std::log(0.5)) * (0.0 - 1.0) + -(0.0 - std::log(1 + std::exp(1.0))) * (1.0 - 0.0)) / 2;
  EXPECT_NEAR(pipeline::RopgRlLoss(two, u2, torch::tensor({1, 1}, torch::kLong)).item<double>(), want, 1e-12)
      << "the mean over questions";
}

TEST(RopgLoss, KdIsTheKlFromTheUtilityTeacherToTheRetriever) {
  const auto scores = torch::tensor({{1.0, 0.0}}, torch::kDouble);
  const auto utilities = torch::tensor({{0.0, 1.0}}, torch::kDouble);
  const double T = 2;
  const double t0 = 1 / (1 + std::exp(0.5)), t1 = 1 - t0;   // softmax(0, 0.5)
  const double s0 = 1 / (1 + std::exp(-0.5)), s1 = 1 - s0;  // softmax(0.5, 0)
  EXPECT_NEAR(pipeline::RopgKdLoss(scores, utilities, T).item<double>(),
              t0 * std::log(t0 / s0) + t1 * std::log(t1 / s1), 1e-12);
  EXPECT_NEAR(pipeline::RopgKdLoss(utilities, utilities, T).item<double>(), 0.0, 1e-12) << "student = teacher";
  // A one-hot teacher: the cross-entropy of its target.
  const auto logits = torch::tensor({{0.3, -1.2, 2.0}, {1.0, 0.5, -0.5}}, torch::kDouble);
  const auto target = torch::tensor({2, 0}, torch::kLong);
  const auto one_hot = torch::one_hot(target, 3).to(torch::kDouble);
  EXPECT_NEAR(pipeline::KdLossFromTeacher(logits, one_hot, 1.0).item<double>(),
              torch::nn::functional::cross_entropy(logits, target).item<double>(), 1e-12);
}

TEST(RopgLoss, ShapesAndArgumentsAreRefusedByName) {
  const auto s = torch::zeros({2, 3});
  ExpectErrorContaining(
      [&] {
        pipeline::RopgRlLoss(s, torch::zeros({2, 4}), torch::zeros({2}, torch::kLong));
      },
      {"RopgRlLoss", "utilities", "must match the scores"});
  ExpectErrorContaining(
      [&] {
        pipeline::RopgRlLoss(s, torch::zeros({2, 3}), torch::tensor({0, 3}, torch::kLong));
      },
      {"RopgRlLoss", "outside [0, 3)"});
  ExpectErrorContaining(
      [&] {
        pipeline::RopgKdLoss(s, torch::zeros({2, 3}), 0);
      },
      {"RopgKdLoss", "temperature must be > 0"});
  ExpectErrorContaining([&] { pipeline::RopgKdLoss(torch::zeros({3}), torch::zeros({3}), 1); },
                        {"scores must be [Q, N]"});
}

}  // namespace
}  // namespace prlm::objective

// ROPG's pipeline pieces: NDCG, the feedback file and its bad input, the
// oracle retriever, and the retriever trainer (learning, RL draws, exact
// resume) on a BERT fixture.
namespace prlm::pipeline {
namespace {

using testing::ExpectErrorContaining;
using testing::TempDir;
using testing::WriteBytes;

TEST(RopgFeedback, NdcgByHand) {
  // gains (0.5, 1, 0): ideal DCG@2 = 1 + 0.5/log2(3); the order (0, 1) gets 0.5 + 1/log2(3).
  const double ideal = 1 + 0.5 / std::log2(3.0);
  EXPECT_NEAR(Ndcg({0, 1, 2}, {0.5, 1, 0}, 2), (0.5 + 1 / std::log2(3.0)) / ideal, 1e-12);
  EXPECT_DOUBLE_EQ(Ndcg({1, 0, 2}, {0.5, 1, 0}, 2), 1.0);
  EXPECT_DOUBLE_EQ(Ndcg({0, 1}, {0, 0}, 5), 0.0);  // no gain anywhere
}

FeedbackRecord Record(const std::string& id, const std::string& user, std::vector<std::pair<std::string, double>> c) {
  FeedbackRecord r{id, user, "query of " + id, "input", "gold", "bm25", "rouge1", {}};
  for (const auto& [text, u] : c) r.candidates.push_back({"item-" + text, 0, 1.0, u, "answer", "completion", text});
  return r;
}

TEST(RopgFeedback, FileRoundTripsAndBadLinesAreNamed) {
  TempDir dir;
  const std::string path = dir.str() + "/feedback.jsonl";
  const auto a = Record("q1", "u1", {{"one", 0.5}, {"two", 0.25}});
  WriteBytes(path, FeedbackLine(a) + "\n\n" + FeedbackLine(Record("q2", "u2", {{"x", 1}})) + "\n");
  const auto back = ReadFeedback(path);
  ASSERT_EQ(back.size(), 2u);
  EXPECT_EQ(back[0].query, a.query);
  ASSERT_EQ(back[0].candidates.size(), 2u);
  EXPECT_EQ(back[0].candidates[1].text, "two");
  EXPECT_DOUBLE_EQ(back[0].candidates[1].utility, 0.25);
  WriteBytes(path, FeedbackLine(a) + "\n" + FeedbackLine(a) + "\n");
  ExpectErrorContaining([&] { ReadFeedback(path); }, {path + ":2", "question q1 appears twice"});
  WriteBytes(path, R"({"id": "q", "user_id": "u", "query": "x", "first_stage": "bm25", "candidates": []})"
                   "\n");
  ExpectErrorContaining([&] { ReadFeedback(path); }, {path + ":1", "\"candidates\" must be a non-empty array"});
  WriteBytes(path, R"({"id": "q", "user_id": "u", "query": "x", "first_stage": "bm25",)"
                   R"( "candidates": [{"id": "i", "score": 1, "utility": "high", "text": "t"}]})"
                   "\n");
  ExpectErrorContaining([&] { ReadFeedback(path); }, {path + ":1: candidates[0]", "\"utility\" must be a number"});
  WriteBytes(path, "");
  ExpectErrorContaining([&] { ReadFeedback(path); }, {"no feedback records"});
}

TEST(RopgFeedback, OracleOrdersTheFirstStageCandidatesByUtility) {
  pipeline::SyntheticOptions o;
  o.task = "LaMP_4";
  o.users = 12;
  o.seed = 4;
  o.topic_style = true;
  const auto s = pipeline::MakeSynthetic(o);
  retrieval_shards::IndexOptions index;
  index.built = {"bm25"};
  auto first = retrieval_shards::LocalRetriever::Build({&s.test}, index);
  const data::Example& ex = s.test.examples[0];
  const auto bm25 = retrieval::RetrieveRequestFor(ex.user_id, ex.query, 4, "bm25");
  const auto top4 = first->Retrieve({bm25})[0];
  ASSERT_EQ(top4.items_size(), 4);
  // Utilities that reverse bm25's order.
  FeedbackRecord r{ex.id, ex.user_id, ex.query, ex.input, *ex.output, "bm25", "rouge1", {}};
  for (int j = 0; j < 4; ++j) r.candidates.push_back({top4.items(j).id(), 0, 0, 0.1 * j, "", "", ""});
  auto oracle = MakeOracleRetriever({r}, std::move(first));
  const auto ask = retrieval::RetrieveRequestFor(ex.user_id, ex.query, 2, "oracle");
  proto::RetrieveRequest unknown = ask;
  unknown.set_query("a question the feedback does not hold");
  const auto got = oracle->Retrieve({ask, bm25, unknown});
  ASSERT_EQ(got[0].items_size(), 2);
  EXPECT_EQ(got[0].items(0).id(), top4.items(3).id());
  EXPECT_EQ(got[0].items(1).id(), top4.items(2).id());
  EXPECT_DOUBLE_EQ(got[0].items(0).score(), 0.3);
  EXPECT_EQ(got[1].items(0).id(), top4.items(0).id());  // other retrievers pass through
  EXPECT_NE(got[2].error().find("has no question of user"), std::string::npos) << got[2].error();
}

// Feedback where the useful item names the query's topic word: a retriever
// that learns the topic ranks it first.
std::vector<FeedbackRecord> TopicFeedback(int questions) {
  const std::vector<std::string> topics = {"harbor ships", "violin concert", "wheat harvest", "chess match"};
  std::vector<FeedbackRecord> out;
  util::SplitMix64 rng(9);
  for (int q = 0; q < questions; ++q) {
    const int t = q % 4;
    FeedbackRecord r{"q" + std::to_string(q),
                     "user" + std::to_string(q % 10),
                     "news about the " + topics[t],
                     "",
                     "",
                     "bm25",
                     "rouge1",
                     {}};
    for (int j = 0; j < 6; ++j) {
      const int topic = (t + j + rng.Below(2)) % 4;
      r.candidates.push_back({"i" + std::to_string(j), 0, 0, topic == t ? 1.0 : 0.0, "", "",
                              "a story on the " + topics[topic] + " and more"});
    }
    out.push_back(std::move(r));
  }
  return out;
}

std::vector<torch::Tensor> Weights(model::BertEncoder& e) {
  std::vector<torch::Tensor> w;
  for (const auto& p : e->parameters()) w.push_back(p.detach().clone());
  return w;
}

using prlm::testing::kBertFixture;

// The trainer tests' settings: small batches, a fast rate, a third held out.
RetrieverTrainOptions SmallRun(const std::string& mode, int epochs, const std::string& out_dir) {
  RetrieverTrainOptions o;
  o.mode = mode;
  o.lr = 3e-3;
  o.batch_size = 8;
  o.epochs = epochs;
  o.heldout_fraction = 0.3;
  o.eval_every = 0;
  o.out_dir = out_dir;
  return o;
}

TEST(RetrieverTrainer, KdLearnsTheUtilitiesAndResumesExactly) {
  const std::string fixture = kBertFixture;
  const auto tokenizer = text::Tokenizer::FromFile(fixture + "/tokenizer.json");
  const auto feedback = TopicFeedback(48);
  TempDir dir;
  RetrieverTrainOptions o = SmallRun("kd", 2, dir.str() + "/kd");
  o.save_every = 3;
  auto encoder = model::LoadBert(fixture);
  const auto report = TrainRetriever(encoder, fixture, *tokenizer, feedback, o, nullptr);
  EXPECT_GT(report.heldout_questions, 0u);
  EXPECT_GT(report.after.ndcg, report.before.ndcg + 0.05);
  EXPECT_LT(report.after.kl, report.before.kl);
  EXPECT_TRUE(std::filesystem::exists(o.out_dir + "/model.safetensors"));
  EXPECT_TRUE(std::filesystem::exists(o.out_dir + "/tokenizer.json"));
  const auto final_weights = Weights(encoder);
  // Resume from the step-3 checkpoint (the newer ones removed): the same weights at the end.
  const std::string ckpt = o.out_dir + "/checkpoints/step-00000003";
  ASSERT_TRUE(std::filesystem::exists(ckpt + "/optimizer.pt"));
  for (const auto& e : std::filesystem::directory_iterator(o.out_dir + "/checkpoints"))
    if (e.path().string() != ckpt) std::filesystem::remove_all(e.path());
  ASSERT_EQ(NewestRetrieverCheckpoint(o.out_dir), ckpt);
  o.resume = true;
  auto resumed = model::LoadBert(ckpt);
  TrainRetriever(resumed, ckpt, *tokenizer, feedback, o, nullptr);
  const auto again = Weights(resumed);
  ASSERT_EQ(again.size(), final_weights.size());
  for (size_t i = 0; i < again.size(); ++i) EXPECT_TRUE(torch::equal(again[i], final_weights[i])) << i;
  // metrics.jsonl has one line per step, none repeated by the resume.
  std::ifstream metrics(o.out_dir + "/metrics.jsonl");
  size_t lines = 0;
  for (std::string line; std::getline(metrics, line);) ++lines;
  EXPECT_EQ(lines, static_cast<size_t>(report.steps));
}

TEST(RetrieverTrainer, RlLearnsAndBadOptionsAreNamed) {
  const std::string fixture = kBertFixture;
  const auto tokenizer = text::Tokenizer::FromFile(fixture + "/tokenizer.json");
  const auto feedback = TopicFeedback(48);
  TempDir dir;
  RetrieverTrainOptions o = SmallRun("rl", 3, dir.str() + "/rl");
  auto encoder = model::LoadBert(fixture);
  const auto report = TrainRetriever(encoder, fixture, *tokenizer, feedback, o, nullptr);
  EXPECT_GT(report.after.top1_utility, report.before.top1_utility);
  o.mode = "ppo";
  ExpectErrorContaining([&] { TrainRetriever(encoder, fixture, *tokenizer, feedback, o, nullptr); },
                        {"--mode must be kd or rl, not 'ppo'"});
  o.mode = "kd";
  o.heldout_fraction = 1.5;
  ExpectErrorContaining([&] { TrainRetriever(encoder, fixture, *tokenizer, feedback, o, nullptr); },
                        {"held-out fraction must be in [0, 1)"});
}

}  // namespace
}  // namespace prlm::pipeline
