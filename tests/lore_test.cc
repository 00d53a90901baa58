// LoRe (common/reward/lore.h) and its data: the per-user Bradley-Terry loss
// and its gradient against hand-computed values, the model's logits, the
// user table's round trip, adapting a user drawn from a known truth, the
// preference file's errors, and the synthetic preference users.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>
#include <set>

#include "common/data/preference_file.h"
#include "common/reward/lore.h"
#include "pipeline/lore_pipeline.h"
#include "pipeline/lore_training.h"
#include "pipeline/synthetic_preferences.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

using reward::LoreModel;
using reward::LoreOptions;
using testing::ExpectErrorContaining;
using testing::TempDir;
using testing::WriteBytes;

double Softplus(double x) { return std::log1p(std::exp(x)); }
double Sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

TEST(LoreLoss, PerUserMeanThenUserMeanAndItsGradient) {
  // User 0 has pairs with logits 1 and -1, user 1 one pair with logit 2.
  auto logits = torch::tensor({1.0, -1.0, 2.0}, torch::kDouble).set_requires_grad(true);
  const auto user = torch::tensor({0, 0, 1}, torch::kLong);
  const auto loss = pipeline::PerUserBtLoss(logits, user, 2);
  const double want = ((Softplus(-1) + Softplus(1)) / 2 + Softplus(-2)) / 2;
  EXPECT_NEAR(loss.item<double>(), want, 1e-12);
  loss.backward();
  // d/dl softplus(-l) = -sigmoid(-l), weighted 1/(pairs of the user x users).
  EXPECT_NEAR(logits.grad()[0].item<double>(), -Sigmoid(-1) / 4, 1e-12);
  EXPECT_NEAR(logits.grad()[1].item<double>(), -Sigmoid(1) / 4, 1e-12);
  EXPECT_NEAR(logits.grad()[2].item<double>(), -Sigmoid(-2) / 2, 1e-12);
}

// Pair differences in phi-space labelled by a known low-rank truth:
// V* [d, 3], each user's weights on the simplex.
struct Truth {
  torch::Tensor basis;                 // [d, 3]
  std::vector<torch::Tensor> weights;  // per user [3]
};

Truth MakeTruth(int users, int64_t d, uint64_t seed) {
  torch::manual_seed(seed);
  Truth t{torch::randn({d, 3}) * 3, {}};
  for (int u = 0; u < users; ++u) t.weights.push_back(torch::softmax(torch::randn({3}) * 3, 0));
  return t;
}

// n pairs of user `u`: differences ~ N(0, 1), chosen by the truth's sign
// with sigmoid label noise; p is the truth's probability of the label given.
torch::Tensor Pairs(const Truth& t, int u, int64_t n, std::vector<double>* bayes) {
  auto diffs = torch::randn({n, t.basis.size(0)});
  const auto logit = diffs.matmul(t.basis).matmul(t.weights[static_cast<size_t>(u)]);
  const auto p = torch::sigmoid(logit);
  const auto flip = torch::rand({n}) > p;  // the rejected one won: swap sides
  diffs.index_put_({flip}, -diffs.index({flip}));
  if (bayes)
    for (int64_t i = 0; i < n; ++i) bayes->push_back(std::max(p[i].item<double>(), 1 - p[i].item<double>()));
  return diffs;
}

TEST(LoreModel, LogitsAreDiffTimesBasisTimesSoftmaxWeightsOverScale) {
  // Two users, two dimensions: fit briefly, then check the formula on the result.
  const auto diffs = torch::tensor({{1.0f, 0.0f}, {0.0f, 1.0f}, {1.0f, 1.0f}});
  LoreOptions o;
  o.basis = 2;
  o.iterations = 3;
  o.prune_below = 0;
  o.scale = 4;
  const auto m = pipeline::TrainLore({diffs, {0, 1, 1}}, {"a", "b"}, o);
  ASSERT_EQ(m.basis_size(), 2);
  const auto w = m.WeightsOf("b");
  EXPECT_NEAR(w.sum().item<double>(), 1.0, 1e-6);
  const auto x = torch::tensor({{2.0f, -1.0f}});
  const double want = (x.matmul(m.basis()).matmul(w) / 4).item<double>();
  EXPECT_NEAR(m.PairLogits(x, w)[0].item<double>(), want, 1e-6);
  bool known = true;
  const auto mean = m.WeightsOf("nobody", &known);
  EXPECT_FALSE(known);
  EXPECT_TRUE(torch::allclose(mean, (m.WeightsOf("a") + m.WeightsOf("b")) / 2, 1e-6, 1e-6));
}

TEST(LoreModel, UserTableRoundTripsThroughTheDirectory) {
  const Truth t = MakeTruth(4, 8, 3);
  std::vector<torch::Tensor> parts;
  std::vector<int64_t> user;
  for (int u = 0; u < 4; ++u) {
    parts.push_back(Pairs(t, u, 30, nullptr));
    user.insert(user.end(), 30, u);
  }
  LoreOptions o;
  o.basis = 4;
  o.iterations = 50;
  o.scale = 1;
  reward::LoreReport report;
  auto m = pipeline::TrainLore({torch::cat(parts), user}, {"u0", "u1", "u2", "u3"}, o, &report);
  m.SetUser("new", LoreModel::LogitsOf(torch::softmax(torch::arange(m.basis_size()).to(torch::kFloat), 0)));
  TempDir dir;
  m.Save(dir.str(), "/some/bert", "mean", o, report);
  std::string embedder, pooling;
  const auto back = LoreModel::Load(dir.str(), &embedder, &pooling);
  EXPECT_EQ(embedder, "/some/bert");
  EXPECT_EQ(pooling, "mean");
  EXPECT_TRUE(torch::equal(back.basis(), m.basis()));
  EXPECT_EQ(back.user_ids(), m.user_ids());
  for (const auto& u : m.user_ids()) EXPECT_TRUE(torch::allclose(back.WeightsOf(u), m.WeightsOf(u), 1e-6, 1e-7)) << u;
  // SaveTable alone (what an adaptation writes) carries the users with it.
  auto more = back.Clone();
  more.SetUser("later", LoreModel::LogitsOf(m.WeightsOf("u1")));
  more.SaveTable(dir.str());
  EXPECT_EQ(LoreModel::Load(dir.str()).users(), m.users() + 1);
  // A damaged description is refused naming the file and the key.
  WriteBytes(dir.str() + "/lore.json", "{\"users\": [\"u0\"], \"embedder\": \"x\"}");
  ExpectErrorContaining([&] { LoreModel::Load(dir.str()); }, {dir.str() + "/lore.json", "scale"});
  ExpectErrorContaining([&] { LoreModel::Load(dir.str() + "/none"); }, {"not a LoRe model"});
}

TEST(LoreModel, AdaptingAUserFromTheTruthRanksHeldOutPairsLikeTheTruth) {
  // 30 seen users with 60 pairs each fit the basis; a new user's 20 pairs fit
  // its weights. The bar: within 0.1 of the Bayes accuracy (the truth's own
  // accuracy under the label noise) on 400 held-out pairs: at 400 pairs the
  // accuracy's standard error is about 0.02, so 0.1 leaves five of them for
  // the estimation error of 20 pairs.
  const Truth t = MakeTruth(31, 16, 7);
  std::vector<torch::Tensor> parts;
  std::vector<int64_t> user;
  std::vector<std::string> ids;
  for (int u = 0; u < 30; ++u) {
    parts.push_back(Pairs(t, u, 60, nullptr));
    user.insert(user.end(), 60, u);
    ids.push_back("u" + std::to_string(u));
  }
  LoreOptions o;
  o.basis = 6;
  o.scale = 1;
  const auto m = pipeline::TrainLore({torch::cat(parts), user}, ids, o);
  const auto shots = Pairs(t, 30, 20, nullptr);
  std::vector<double> bayes;
  const auto test = Pairs(t, 30, 400, &bayes);
  const auto w = m.FitWeights(shots, o);
  double bayes_accuracy = 0;
  for (double b : bayes) bayes_accuracy += b / static_cast<double>(bayes.size());
  const auto correct = pipeline::PairCorrect(m.PairLogits(test, w));
  double accuracy = 0;
  for (double c : correct) accuracy += c / static_cast<double>(correct.size());
  EXPECT_GT(accuracy, bayes_accuracy - 0.1) << "Bayes " << bayes_accuracy;
  // Unadapted (the population mean) does worse than adapted.
  const auto mean_correct = pipeline::PairCorrect(m.PairLogits(test, m.WeightsOf("new user")));
  double mean_accuracy = 0;
  for (double c : mean_correct) mean_accuracy += c / static_cast<double>(mean_correct.size());
  EXPECT_GT(accuracy, mean_accuracy);
  // Bad adaptation input is refused.
  ExpectErrorContaining([&] { m.FitWeights(torch::zeros({0, 16}), o); }, {"k >= 1"});
  ExpectErrorContaining([&] { m.FitWeights(torch::full({2, 16}, NAN), o); }, {"non-finite"});
  ExpectErrorContaining(
      [&] {
        pipeline::TrainLore({torch::zeros({2, 16}), {0, 0}}, {"a", "b"}, o);
      },
      {"user b has no pairs"});
}

TEST(PreferenceFile, ReadsSplitsCountsDuplicatesAndNamesBadLines) {
  TempDir dir;
  const std::string path = dir.str() + "/pairs.jsonl";
  WriteBytes(path,
             "{\"user_id\": \"a\", \"prompt\": \"q\", \"chosen\": \"x\", \"rejected\": \"y\"}\n"
             "{\"user_id\": \"a\", \"prompt\": \"q\", \"chosen\": \"x\", \"rejected\": \"y\"}\n"
             "\n"
             "{\"user_id\": \"b\", \"prompt\": \"q\", \"chosen\": \"x\", \"rejected\": \"y\", \"split\": \"fewshot\"}\n"
             "{\"user_id\": \"b\", \"prompt\": \"r\", \"chosen\": \"x\", \"rejected\": \"y\", \"split\": \"test\"}\n");
  const auto set = data::ReadPreferenceFile(path);
  EXPECT_EQ(set.pairs.size(), 3u);
  EXPECT_EQ(set.duplicates, 1u);
  EXPECT_EQ(set.ByUser(data::PreferenceSplit::kTrain).at("a").size(), 1u);
  EXPECT_EQ(set.ByUser(data::PreferenceSplit::kFewshot).count("b"), 1u);
  const auto bad = [&](const std::string& line, const std::string& what, const std::string& detail) {
    WriteBytes(path, "{\"user_id\": \"a\", \"prompt\": \"q\", \"chosen\": \"x\", \"rejected\": \"y\"}\n" + line + "\n");
    ExpectErrorContaining([&] { data::ReadPreferenceFile(path); }, {path + ":2", what, detail});
  };
  bad("{\"user_id\": \"a\", \"prompt\": \"q\", \"chosen\": \"x\", \"rejected\": \"z\", \"split\": \"dev\"}", "dev",
      "train, test or fewshot");
  bad("{\"user_id\": \"a\", \"prompt\": \"\", \"chosen\": \"x\", \"rejected\": \"z\"}", "\"prompt\" is empty",
      "prompt");
  bad("{\"user_id\": \"a\", \"prompt\": \"q\", \"chosen\": \"x\", \"rejected\": \"x\"}", "the same text", "chosen");
  bad("{\"user_id\": \"a\", \"prompt\": \"q\", \"chosen\": \"x\"}", "rejected", "rejected");
  bad("[1, 2]", "object", "object");
  WriteBytes(path, "\n");
  ExpectErrorContaining([&] { data::ReadPreferenceFile(path); }, {"no preference pairs"});
}

TEST(SyntheticPreferences, CriteriaAreMeasuredOnTheTextAndUsersMixThem) {
  const auto f = pipeline::PreferenceFeatures(
      "Perhaps furthermore, yeah, it keeps the cost low and the budget small \xF0\x9F\x99\x82 \xF0\x9F\x99\x82");
  EXPECT_NEAR(f[0], 14.0 / 80, 1e-12) << "14 words (the emoji count as words)";
  EXPECT_NEAR(f[1], 0.5, 1e-12) << "one formal, one casual marker";
  EXPECT_NEAR(f[2], 1.0, 1e-12) << "cost and budget: the topic, at most 2";
  EXPECT_NEAR(f[3], 2.0 / 3, 1e-12);
  EXPECT_NEAR(f[4], 0.5, 1e-12);
  EXPECT_NEAR(pipeline::PreferenceFeatures("mighty fine")[4], 0.0, 1e-12) << "whole words only";
  pipeline::SyntheticPreferenceOptions o;
  o.seen_users = 6;
  o.unseen_users = 3;
  o.train_pairs = 10;
  o.test_pairs = 5;
  o.fewshot_pairs = 4;
  const auto a = pipeline::MakeSyntheticPreferences(o), b = pipeline::MakeSyntheticPreferences(o);
  ASSERT_EQ(a.pairs.size(), 6u * 15 + 3u * 9);
  EXPECT_EQ(a.pairs.front().chosen, b.pairs.front().chosen) << "the seed decides everything";
  for (const auto& u : a.users) {
    double sum = 0;
    for (double w : u.weights) sum += w;
    EXPECT_NEAR(sum, 1.0, 1e-9) << u.id;
  }
  EXPECT_GT(a.bayes_seen, 0.5);
  EXPECT_LT(a.bayes_seen, 1.0);
  // Test prompts are never train prompts.
  std::set<std::string> train_prompts;
  for (const auto& p : a.pairs)
    if (p.split != data::PreferenceSplit::kTest) train_prompts.insert(p.prompt);
  for (const auto& p : a.pairs)
    if (p.split == data::PreferenceSplit::kTest) {
      EXPECT_EQ(train_prompts.count(p.prompt), 0u) << p.prompt;
    }
}

}  // namespace
}  // namespace prlm
