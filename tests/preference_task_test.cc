// The generation task over preference users (pipeline/preference_task.h) and
// judging answers under the users' true utilities
// (pipeline/true_utility_win_rate.h): splits and profiles as documented,
// win rates and intervals against hand-computed values, the truth file's
// round trip, and every bad input named.
#include <gtest/gtest.h>

#include <algorithm>
#include <set>

#include "pipeline/preference_task.h"
#include "pipeline/synthetic_preferences.h"
#include "pipeline/true_utility_win_rate.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

using testing::ExpectErrorContaining;
using testing::TempDir;
using testing::WriteBytes;

data::PreferenceSet SmallSet() {
  pipeline::SyntheticPreferenceOptions o;
  o.seen_users = 3;
  o.unseen_users = 2;
  o.train_pairs = 5;
  o.test_pairs = 2;
  o.fewshot_pairs = 3;
  data::PreferenceSet set;
  set.source = "small.jsonl";
  set.pairs = pipeline::MakeSyntheticPreferences(o).pairs;
  return set;
}

TEST(PreferenceTask, SeenUsersAskTheirOtherTrainPairsWithTheFirstAsProfile) {
  const auto set = SmallSet();
  pipeline::PreferenceTaskOptions o;
  o.profile_pairs = 2;
  const auto task = pipeline::MakePreferenceTask(set, o);
  EXPECT_EQ(task.train.task->name, "LongLaMP_topic_writing");
  ASSERT_EQ(task.train.examples.size(), 3u * 3) << "3 seen users x (5 train pairs - 2 in the profile)";
  ASSERT_EQ(task.test.examples.size(), 3u * 2) << "unseen users are left out";
  EXPECT_EQ(task.rm_pairs.size(), 3u * 5) << "every train pair, profile pairs included";
  const auto by_user = set.ByUser(data::PreferenceSplit::kTrain);
  std::set<std::string> ids;
  for (const auto* split : {&task.train, &task.test})
    for (const auto& ex : split->examples) {
      EXPECT_TRUE(ids.insert(ex.id).second) << ex.id;
      const auto& pairs = by_user.at(ex.user_id);
      ASSERT_EQ(ex.profile.size(), 2u);
      for (size_t i = 0; i < 2; ++i) {
        EXPECT_EQ(*ex.profile[i].Field("summary"), pairs[i]->prompt);
        EXPECT_EQ(*ex.profile[i].Field("content"), pairs[i]->chosen);
      }
      EXPECT_EQ(ex.query, ex.input) << "the whole request is the query";
      EXPECT_NE(ex.output, std::nullopt);
    }
  // The first train question is the user's third train pair, gold = chosen.
  const auto& first = task.train.examples[0];
  EXPECT_EQ(first.input, by_user.at(first.user_id)[2]->prompt);
  EXPECT_EQ(*first.output, by_user.at(first.user_id)[2]->chosen);
  // A user with no pair left to ask is named.
  o.profile_pairs = 5;
  ExpectErrorContaining([&] { pipeline::MakePreferenceTask(set, o); },
                        {"user p0000 has 5 train pairs in small.jsonl", "more than the 5"});
}

TEST(PreferenceTruth, RoundTripsAndNamesBadUsers) {
  TempDir dir;
  pipeline::SyntheticPreferenceOptions o;
  o.seen_users = 2;
  o.unseen_users = 1;
  const auto made = pipeline::MakeSyntheticPreferences(o);
  pipeline::WriteSyntheticPreferences(made, o, dir.str());
  const auto truth = pipeline::ReadPreferenceTruth(dir.str() + "/truth.json");
  ASSERT_EQ(truth.size(), 3u);
  for (const auto& u : made.users) {
    ASSERT_EQ(truth.count(u.id), 1u);
    EXPECT_EQ(truth.at(u.id).seen, u.seen);
    for (size_t k = 0; k < u.weights.size(); ++k) EXPECT_DOUBLE_EQ(truth.at(u.id).weights[k], u.weights[k]);
  }
  WriteBytes(dir.str() + "/bad.json", R"({"users": {"p1": {"weights": [0.5, 0.5]}}})");
  ExpectErrorContaining([&] { pipeline::ReadPreferenceTruth(dir.str() + "/bad.json"); },
                        {"bad.json", "user p1", "5 numbers"});
  WriteBytes(dir.str() + "/none.json", R"({"criteria": []})");
  ExpectErrorContaining([&] { pipeline::ReadPreferenceTruth(dir.str() + "/none.json"); }, {"none.json", "\"users\""});
  WriteBytes(dir.str() + "/junk.json", "{");
  ExpectErrorContaining([&] { pipeline::ReadPreferenceTruth(dir.str() + "/junk.json"); }, {"junk.json", "not JSON"});
}

TEST(TrueUtilityWinRate, CountsWinsTiesAndLossesUnderEachUsersUtility) {
  // u1 values length only, u2 emoji only.
  std::map<std::string, pipeline::PreferenceUser> truth;
  truth["u1"].weights = {1, 0, 0, 0, 0};
  truth["u2"].weights = {0, 0, 0, 1, 0};
  const std::string smile = "\xF0\x9F\x99\x82";
  // b wins q1 (longer for u1), loses q2 (no emoji for u2), ties q3 (u1, same length).
  const std::vector<pipeline::JudgedAnswer> a = {{"q1", "u1", "one two", "one two three four"},
                                                 {"q2", "u2", "hi " + smile, std::nullopt},
                                                 {"q3", "u1", "x y", std::nullopt}};
  const std::vector<pipeline::JudgedAnswer> b = {{"q3", "u1", "z w", std::nullopt},
                                                 {"q1", "u1", "one two three", std::nullopt},
                                                 {"q2", "u2", "hi there", std::nullopt}};
  const auto c = pipeline::CompareUnderTruth(truth, a, b);
  EXPECT_EQ(c.n, 3u);
  EXPECT_EQ(c.wins, 1u);
  EXPECT_EQ(c.ties, 1u);
  EXPECT_EQ(c.losses, 1u);
  EXPECT_NEAR(c.win_rate, 0.5, 1e-12);
  EXPECT_NEAR(c.utility_a, (2.0 / 80 + 1.0 / 3 + 2.0 / 80) / 3, 1e-12);
  EXPECT_NEAR(c.utility_b, (3.0 / 80 + 0 + 2.0 / 80) / 3, 1e-12);
  EXPECT_NEAR(c.utility_difference.difference, c.utility_b - c.utility_a, 1e-12);
  EXPECT_LE(c.win_low, c.win_rate);
  EXPECT_GE(c.win_high, c.win_rate);
  EXPECT_GT(c.win_high - c.win_low, 0.0) << "three different outcomes vary under resampling";
  EXPECT_EQ(c.utility_gold, std::nullopt) << "not every question has a gold";
  // Gaps: own utility minus the other user's, per question, averaged.
  const auto u1 = [](const std::string& t) { return pipeline::PreferenceFeatures(t)[0]; };
  const auto u2 = [](const std::string& t) { return pipeline::PreferenceFeatures(t)[3]; };
  EXPECT_NEAR(c.gap_a,
              ((u1("one two") - u2("one two")) + (u2("hi " + smile) - u1("hi " + smile)) + (u1("x y") - u2("x y"))) / 3,
              1e-12);
  EXPECT_NEAR(
      c.gap_b,
      ((u1("one two three") - u2("one two three")) + (u2("hi there") - u1("hi there")) + (u1("z w") - u2("z w"))) / 3,
      1e-12);
  const std::string row = pipeline::ComparisonRow("A", "B", c);
  EXPECT_NE(row.find("| B vs A | 3 |"), std::string::npos) << row;
  EXPECT_NE(row.find("| 1 / 1 / 1 |"), std::string::npos) << row;
  const std::string header = pipeline::ComparisonHeader();
  EXPECT_EQ(std::count(row.begin(), row.end(), '|'),
            std::count(header.begin(), header.begin() + header.find('\n'), '|'))
      << "the row has the header's columns";
  // Bad inputs are named.
  auto missing = b;
  missing[0].id = "q9";
  ExpectErrorContaining([&] { pipeline::CompareUnderTruth(truth, a, missing); }, {"question q3", "one file only"});
  auto stranger = a;
  stranger[0].user_id = "u7";
  ExpectErrorContaining([&] { pipeline::CompareUnderTruth(truth, stranger, stranger); },
                        {"question q1", "user u7 is not in the truth file"});
  auto other_user = b;
  other_user[1].user_id = "u2";
  ExpectErrorContaining([&] { pipeline::CompareUnderTruth(truth, a, other_user); },
                        {"question q1", "asked by u1 in one file and u2"});
  ExpectErrorContaining([&] { pipeline::CompareUnderTruth(truth, a, {b[0]}); }, {"3 and 1 questions"});
}

TEST(TrueUtilityWinRate, ReadsEvalCompletionsAndNamesTheBadLine) {
  TempDir dir;
  const std::string good = dir.str() + "/good.jsonl", bad = dir.str() + "/bad.jsonl";
  WriteBytes(good,
             "{\"id\": \"q1\", \"user_id\": \"u1\", \"answer\": \"\", \"gold\": \"g\"}\n"
             "\n{\"id\": 7, \"user_id\": \"u2\", \"answer\": \"b\"}\n");
  const auto answers = pipeline::ReadJudgedAnswers(good);
  ASSERT_EQ(answers.size(), 2u);
  EXPECT_EQ(answers[0].answer, "") << "an empty answer is an answer (it earns its utility)";
  EXPECT_EQ(answers[0].gold, std::optional<std::string>("g"));
  EXPECT_EQ(answers[1].id, "7");
  WriteBytes(bad, "{\"id\": \"q1\", \"user_id\": \"u1\", \"answer\": \"a\"}\n{\"id\": \"q2\", \"answer\": \"b\"}\n");
  ExpectErrorContaining([&] { pipeline::ReadJudgedAnswers(bad); }, {"bad.jsonl:2", "user_id"});
  WriteBytes(bad, "\n");
  ExpectErrorContaining([&] { pipeline::ReadJudgedAnswers(bad); }, {"bad.jsonl", "holds no answers"});
}

}  // namespace
}  // namespace prlm
