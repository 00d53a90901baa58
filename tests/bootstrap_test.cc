// The paired bootstrap (common/util/paired_bootstrap.h) on data whose
// interval is known, and eval's row comparisons built on it
// (pipeline/evaluation.h: questions paired by id), and rows scored from an
// answers file (eval --answers).
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "common/data/task.h"
#include "common/util/file.h"
#include "common/util/paired_bootstrap.h"
#include "pipeline/eval_rows.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

TEST(PairedBootstrap, AConstantDifferenceHasAZeroWidthInterval) {
  std::vector<double> a, b;
  std::mt19937 rng(3);
  std::uniform_real_distribution<double> u(0, 1);
  for (int i = 0; i < 200; ++i) {
    a.push_back(u(rng));
    b.push_back(a.back() + 0.125);
  }
  const auto r = util::PairedBootstrap(a, b);
  EXPECT_NEAR(r.difference, 0.125, 1e-12);
  EXPECT_NEAR(r.low, 0.125, 1e-12);
  EXPECT_NEAR(r.high, 0.125, 1e-12);
  EXPECT_EQ(r.n, 200u);
  EXPECT_EQ(r.resamples, 10000);
  // RMSE from squared errors: every error 2 against every error 1.
  const auto rmse =
      util::PairedBootstrap(std::vector<double>(50, 4.0), std::vector<double>(50, 1.0), util::Statistic::kRootMean);
  EXPECT_NEAR(rmse.difference, -1.0, 1e-12);
  EXPECT_NEAR(rmse.high - rmse.low, 0.0, 1e-12);
}

TEST(PairedBootstrap, ABernoulliDifferenceMatchesTheNormalApproximation) {
  // b wins exactly half of 400 questions over a (which scores 0): the mean
  // difference is 0.5 with standard error sqrt(0.25 / 400) = 0.025, so the
  // 95% interval is about 0.5 +- 1.96 * 0.025 = [0.451, 0.549].
  std::vector<double> a(400, 0.0), b(400, 0.0);
  for (size_t i = 0; i < b.size(); i += 2) b[i] = 1.0;
  const auto r = util::PairedBootstrap(a, b);
  EXPECT_DOUBLE_EQ(r.difference, 0.5);
  EXPECT_NEAR(r.low, 0.451, 0.006);
  EXPECT_NEAR(r.high, 0.549, 0.006);
  const auto r90 = util::PairedBootstrap(a, b, util::Statistic::kMean, 10000, 0.90);
  EXPECT_GT(r90.low, r.low) << "a lower level gives a narrower interval";
  EXPECT_LT(r90.high, r.high);
}

TEST(PairedBootstrap, BreakingThePairingWidensTheInterval) {
  // Questions differ a lot in difficulty; b is a little better on each.
  std::vector<double> a, b;
  std::mt19937 rng(5);
  std::uniform_real_distribution<double> difficulty(0, 1), noise(-0.02, 0.02);
  for (int i = 0; i < 300; ++i) {
    a.push_back(difficulty(rng));
    b.push_back(a.back() + 0.03 + noise(rng));
  }
  const auto paired = util::PairedBootstrap(a, b);
  std::vector<double> shuffled = b;
  std::shuffle(shuffled.begin(), shuffled.end(), rng);
  const auto unpaired = util::PairedBootstrap(a, shuffled);
  EXPECT_NEAR(paired.difference, unpaired.difference, 1e-12) << "the same means";
  EXPECT_GT(paired.low, 0.0) << "paired, the gain is sure";
  EXPECT_LT(unpaired.low, 0.0) << "unpaired, difficulty drowns it";
  EXPECT_GT(unpaired.high - unpaired.low, 5 * (paired.high - paired.low));
}

TEST(PairedBootstrap, IsDeterministicPerSeedAndRefusesBadInput) {
  const std::vector<double> a = {0.1, 0.5, 0.9, 0.3}, b = {0.2, 0.4, 1.0, 0.6};
  const auto one = util::PairedBootstrap(a, b, util::Statistic::kMean, 1000, 0.95, 7);
  const auto again = util::PairedBootstrap(a, b, util::Statistic::kMean, 1000, 0.95, 7);
  EXPECT_EQ(one.low, again.low);
  EXPECT_EQ(one.high, again.high);
  EXPECT_LE(one.low, one.difference);
  EXPECT_GE(one.high, one.difference);
  testing::ExpectErrorContaining([&] { util::PairedBootstrap(a, {0.1}); }, {"4 values against 1"});
  testing::ExpectErrorContaining([&] { util::PairedBootstrap({}, {}); }, {"no questions"});
  testing::ExpectErrorContaining([&] { util::PairedBootstrap(a, b, util::Statistic::kMean, 100, 1.5); }, {"level"});
}

using Json = nlohmann::ordered_json;

// An eval row with per-question values.
Json Row(const std::string& name, const std::vector<std::string>& ids, const std::vector<double>& rouge1,
         const std::vector<double>& squared_error) {
  Json metrics = {{"rouge1", {{"statistic", "mean"}, {"values", rouge1}}}};
  if (!squared_error.empty()) metrics["rmse"] = {{"statistic", "root_mean"}, {"values", squared_error}};
  double mean = 0;
  for (double v : rouge1) mean += v / static_cast<double>(rouge1.size());
  return Json{{"name", name},    {"retriever", "bm25"}, {"k", 1},
              {"n", ids.size()}, {"rouge1", mean},      {"per_question", {{"id", ids}, {"metrics", metrics}}}};
}

TEST(CompareRows, PairsQuestionsByIdAndSkipsWhatOnlyOneRowHas) {
  // The baseline lists its questions in another order and has one more.
  const Json base = Row("rag", {"q3", "q1", "q2", "q9"}, {0.3, 0.1, 0.2, 0.9}, {4, 4, 4, 0});
  const Json row = Row("prlm", {"q1", "q2", "q3"}, {0.2, 0.3, 0.4}, {});
  const Json c = pipeline::CompareRows(base, row, 2000);
  EXPECT_EQ(c["against"], "rag (bm25, k=1)");
  EXPECT_EQ(c["n"], 3);
  ASSERT_TRUE(c["metrics"].contains("rouge1"));
  EXPECT_FALSE(c["metrics"].contains("rmse")) << "the row has no rmse values";
  // Paired, every question gains exactly 0.1: a zero-width interval (q9 left out).
  EXPECT_NEAR(c["metrics"]["rouge1"]["difference"].get<double>(), 0.1, 1e-12);
  EXPECT_NEAR(c["metrics"]["rouge1"]["low"].get<double>(), 0.1, 1e-12);
  EXPECT_NEAR(c["metrics"]["rouge1"]["high"].get<double>(), 0.1, 1e-12);
  // RMSE compares roots of mean squared errors: 1 against 2.
  const Json rated = pipeline::CompareRows(Row("a", {"x", "y"}, {0, 0}, {4, 4}), Row("b", {"y", "x"}, {0, 0}, {1, 1}));
  EXPECT_NEAR(rated["metrics"]["rmse"]["difference"].get<double>(), -1.0, 1e-12);
}

TEST(CompareRows, RowsThatCannotBePairedAreRefusedNamingThem) {
  const Json a = Row("rag", {"q1"}, {0.1}, {}), b = Row("prlm", {"q2"}, {0.2}, {});
  testing::ExpectErrorContaining([&] { pipeline::CompareRows(a, b); },
                                 {"prlm (bm25, k=1)", "rag (bm25, k=1)", "share no question"});
  Json old = a;
  old.erase("per_question");
  testing::ExpectErrorContaining([&] { pipeline::CompareRows(old, b); }, {"rag (bm25, k=1)", "no per-question values"});
  Json rows = Json::array({a, b});
  testing::ExpectErrorContaining([&] { pipeline::AddComparisons(&rows, 1, "zero-shot"); },
                                 {"--compare zero-shot", "no row of that name"});
  rows = Json::array({Row("rag", {"q1", "q2"}, {0.1, 0.3}, {}), Row("prlm", {"q1", "q2"}, {0.2, 0.5}, {})});
  pipeline::AddComparisons(&rows, 1, "above");
  ASSERT_TRUE(rows[1].contains("compare"));
  const std::string table = pipeline::EvalMarkdownTable(rows);
  EXPECT_NE(table.find("| prlm (bm25, k=1) | rag (bm25, k=1) | 2 | +0.1500 ["), std::string::npos) << table;
  EXPECT_NE(table.find("| model | against | n | ROUGE-1 |\n|---|---|---|---|\n"), std::string::npos) << table;
}

// eval --answers: a reference answer set scored like a model's row, paired
// with a model's row by question id; bad files are refused naming the entry.
TEST(ScoreAnswers, ScoresAFileOfAnswersAndPairsItWithModelRows) {
  testing::TempDir dir;
  data::Dataset d;
  d.task = &data::TaskByName("LaMP_4");
  d.source = "test_questions.json";
  d.examples = {{"q1", "u1", "in", "in", std::string("a b c d"), {}},
                {"q2", "u1", "in", "in", std::string("e f g h"), {}},
                {"q3", "u2", "in", "in", std::nullopt, {}}};  // hidden gold: not scored
  pipeline::WritePredictions(dir / "answers.json", d, {"a b c d", "e f x y", "anything"});
  const Json row = pipeline::ScoreAnswers(d, dir / "answers.json", "reference", "test");
  EXPECT_EQ(row["retriever"], "answers");
  EXPECT_EQ(row["n"], 2);
  EXPECT_NEAR(row["rouge1"].get<double>(), (1.0 + 0.5) / 2, 1e-12);
  EXPECT_FALSE(row.contains("reward")) << "no completion: no format or reward";
  const Json c = pipeline::CompareRows(Row("rag", {"q2", "q1"}, {0.25, 0.5}, {}), row);
  EXPECT_NEAR(c["metrics"]["rouge1"]["difference"].get<double>(), (0.5 + 0.25) / 2, 1e-12);
  testing::WriteBytes(dir / "missing.json", "{\"task\":\"LaMP_4\",\"golds\":[{\"id\":\"q1\",\"output\":\"a\"}]}");
  testing::ExpectErrorContaining([&] { pipeline::ScoreAnswers(d, dir / "missing.json", "x", "test"); },
                                 {"missing.json", "no answer for question q2"});
  testing::WriteBytes(dir / "twice.json",
                      "{\"golds\":[{\"id\":\"q1\",\"output\":\"a\"},{\"id\":\"q1\",\"output\":\"b\"}]}");
  testing::ExpectErrorContaining([&] { pipeline::ScoreAnswers(d, dir / "twice.json", "x", "test"); },
                                 {"twice.json", "golds[1]", "id q1 appears twice"});
  testing::WriteBytes(dir / "bad.json", "{\"golds\":[{\"id\":1}]}");
  testing::ExpectErrorContaining([&] { pipeline::ScoreAnswers(d, dir / "bad.json", "x", "test"); },
                                 {"bad.json", "golds[0] needs a string \"id\""});
  testing::WriteBytes(dir / "notjson.json", "{\"golds\": [");
  testing::ExpectErrorContaining([&] { pipeline::ScoreAnswers(d, dir / "notjson.json", "x", "test"); },
                                 {"notjson.json", "not JSON"});
}

}  // namespace
}  // namespace prlm
