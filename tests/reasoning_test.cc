// Reasoning paths (data/reasoning_file.h, pipeline/reasoning_paths.h): the
// file round trip and its errors, the leak check, and the oracle writer on
// synthetic users (each path states that user's true style).
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "common/data/reasoning_file.h"
#include "common/util/file.h"
#include "pipeline/reasoning_paths.h"
#include "pipeline/teacher_reasoning.h"
#include "pipeline/synthetic.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

using testing::ExpectErrorContaining;

TEST(ReasoningFile, RoundTripsAndNamesTheLineOfABadRecord) {
  testing::TempDir dir;
  const std::string path = dir / "r.jsonl";
  data::WriteReasoningFile(path, {{"q1", "u1", "Their headlines: upper case.", "oracle", false},
                                  {"q2", "u1", "They say \"FIRE\" loudly.", "oracle", true}});
  const auto read = data::ReadReasoningFile(path);
  ASSERT_EQ(read.size(), 2u);
  EXPECT_EQ(read.at("q2").reasoning, "They say \"FIRE\" loudly.");
  EXPECT_TRUE(read.at("q2").leaks);
  EXPECT_EQ(read.at("q1").user_id, "u1");
  testing::WriteBytes(path, "{\"id\": \"q1\", \"reasoning\": \"a\"}\n{\"id\": \"q1\", \"reasoning\": \"b\"}\n");
  ExpectErrorContaining([&] { data::ReadReasoningFile(path); }, {path + ":2", "q1 has a reasoning already"});
  testing::WriteBytes(path, "{\"id\": \"q1\", \"reasoning\": \"\"}\n");
  ExpectErrorContaining([&] { data::ReadReasoningFile(path); }, {path + ":1", "\"reasoning\" of q1 is empty"});
  testing::WriteBytes(path, "{\"id\": \"q1\", \"reasoning\": \"x\", \"leaks\": \"no\"}\n");
  ExpectErrorContaining([&] { data::ReadReasoningFile(path); }, {path + ":1", "\"leaks\""});
  testing::WriteBytes(path, "{\"reasoning\": \"x\"}\n");
  ExpectErrorContaining([&] { data::ReadReasoningFile(path); }, {path + ":1", "id"});
}

TEST(ReasoningFile, LeaksAreTheOutputOrEightOfItsWordsInARow) {
  EXPECT_TRUE(data::LeaksOutput("So: BREAKING: FARMERS REVEALS BOLD DROUGHT RESPONSE.",
                                "Breaking: farmers reveals bold drought response."));
  EXPECT_FALSE(data::LeaksOutput("Their headlines: upper case, words \"reveals\" and \"bold\".",
                                 "BREAKING: FARMERS REVEALS BOLD DROUGHT RESPONSE"));
  const std::string review = "one two three four five six seven eight nine ten eleven twelve";
  EXPECT_TRUE(data::LeaksOutput("they wrote three four five six seven eight nine ten once", review));
  EXPECT_FALSE(data::LeaksOutput("they wrote three four five six seven eight nine once", review))
      << "seven words in a row are not a leak of a long output";
  EXPECT_FALSE(data::LeaksOutput("anything", ""));
}

TEST(OracleReasoning, EachPathStatesItsUsersTrueStyleWithoutTheAnswer) {
  pipeline::SyntheticOptions o;
  o.task = "LaMP_4";
  o.users = 30;
  const auto splits = pipeline::MakeSynthetic(o);
  testing::TempDir dir;
  pipeline::WriteSynthetic(splits, o, dir.str());
  const std::string styles_path = dir / "styles.json";
  const auto styles = nlohmann::json::parse(util::ReadFile(styles_path));
  pipeline::ReasoningStats stats;
  const auto paths = pipeline::OracleReasoning(splits.train, styles, styles_path, &stats);
  ASSERT_EQ(paths.size(), splits.train.examples.size());
  EXPECT_EQ(stats.written, paths.size());
  EXPECT_EQ(stats.leaks, 0u);
  std::set<std::string> distinct;
  for (size_t i = 0; i < paths.size(); ++i) {
    const auto& ex = splits.train.examples[i];
    const auto& style = styles["styles"][ex.user_id];
    EXPECT_EQ(paths[i].id, ex.id);
    EXPECT_EQ(paths[i].writer, "oracle");
    const std::string& r = paths[i].reasoning;
    const std::string casing = style["casing"];
    EXPECT_NE(r.find(casing == "upper"   ? "upper case"
                     : casing == "lower" ? "lower case"
                     : casing == "title" ? "Title Case"
                                         : "ordinary case"),
              std::string::npos)
        << r;
    std::string prefix = style["prefix"];
    while (!prefix.empty() && prefix.back() == ' ') prefix.pop_back();
    if (!prefix.empty()) {
      EXPECT_NE(r.find("opening \"" + prefix + "\""), std::string::npos) << r;
    }
    for (const auto& w : style["words"]) EXPECT_NE(r.find("\"" + w.get<std::string>() + "\""), std::string::npos) << r;
    EXPECT_FALSE(data::LeaksOutput(r, *ex.output)) << r;
    distinct.insert(r);
  }
  EXPECT_GT(distinct.size(), 5u) << "users differ, and so do their paths";
  // Another task's styles, or a user it does not know, are refused.
  nlohmann::json other = styles;
  other["task"] = "LaMP_5";
  ExpectErrorContaining([&] { pipeline::OracleReasoning(splits.train, other, styles_path, nullptr); },
                        {styles_path, "LaMP_5", "LaMP_4"});
  other = styles;
  other["styles"].erase(splits.train.examples[0].user_id);
  ExpectErrorContaining([&] { pipeline::OracleReasoning(splits.train, other, styles_path, nullptr); },
                        {"no style for user " + splits.train.examples[0].user_id});
}

TEST(OracleReasoning, TopicStylesNameThePrefixOfTheQuestionsTopic) {
  pipeline::SyntheticOptions o;
  o.task = "LaMP_4";
  o.users = 20;
  o.topic_style = true;
  const auto splits = pipeline::MakeSynthetic(o);
  testing::TempDir dir;
  pipeline::WriteSynthetic(splits, o, dir.str());
  const std::string styles_path = dir / "styles.json";
  const auto styles = nlohmann::json::parse(util::ReadFile(styles_path));
  const auto paths = pipeline::OracleReasoning(splits.train, styles, styles_path, nullptr);
  for (size_t i = 0; i < paths.size(); ++i) {
    const auto& fact = splits.train_facts[i];
    const auto& style = splits.styles[static_cast<size_t>(std::stoi(splits.train.examples[i].user_id.substr(1)))];
    std::string prefix = styles["styles"][splits.train.examples[i].user_id]["by_topic"][0]["prefix"];
    for (const auto& t : styles["styles"][splits.train.examples[i].user_id]["by_topic"])
      if (t["topic"] == fact.topic) prefix = t["prefix"];
    while (!prefix.empty() && prefix.back() == ' ') prefix.pop_back();
    ASSERT_FALSE(prefix.empty());
    EXPECT_NE(paths[i].reasoning.find("opening \"" + prefix + "\""), std::string::npos) << paths[i].reasoning;
    EXPECT_NE(style.topic_prefix.at(fact.topic), 0);
  }
}

TEST(TeacherReasoning, TheTeacherSeesTheExpectedOutputAndItsThinkingIsKept) {
  EXPECT_EQ(pipeline::ReasoningOf("<think>\n Their titles are short. \n</think>\n<answer>X</answer>"),
            "Their titles are short.");
  EXPECT_EQ(pipeline::ReasoningOf("They like caps.</think><answer>X</answer>"), "They like caps.")
      << "the prompt may have opened <think>";
  EXPECT_EQ(pipeline::ReasoningOf("<think>They like caps. <answer>X</answer>"), "They like caps.")
      << "an unclosed think ends at the answer";
  EXPECT_EQ(pipeline::ReasoningOf("<answer>X</answer>"), "");
  EXPECT_EQ(pipeline::ReasoningOf("  plain words  "), "plain words");
  data::Example ex;
  ex.input = "Generate a headline for the following article: a fact";
  ex.output = "FACT!";
  EXPECT_EQ(pipeline::TeacherInput(ex), ex.input + "\n\nExpected output: FACT!");
  text::PromptTemplate task;
  task.instruction = "Write the headline.";
  const auto t = pipeline::TeacherTemplate(task);
  EXPECT_TRUE(t.shows_input) << "the expected output travels with the input";
  EXPECT_NE(t.instruction.find("Do not copy the expected output"), std::string::npos);
}

}  // namespace
}  // namespace prlm
