// RSPG's retriever selector (pipeline/retriever_selection.h): the candidate
// list's parsing and its errors, the selector's text (the answer only in the
// post variant, the items never crowded out by a long input), learning which
// retriever's text matches the input (pre) or which answer does (post) by
// the listwise trainer, a saved selector picking as the trained one did, and
// bad selector directories named.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <filesystem>

#include "common/util/file.h"
#include "common/util/rng.h"
#include "pipeline/retriever_selection.h"
#include "tests/test_util.h"

namespace prlm::pipeline {
namespace {

namespace fs = std::filesystem;
using testing::ExpectErrorContaining;
using testing::TempDir;

using prlm::testing::kBertFixture;

TEST(SelectionCandidates, ParseNamesRetrieversAndEncoders) {
  const auto c = ParseSelectionCandidates("none,recency,bm25,ropg-kd=runs/kd");
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0].retriever, "none");
  EXPECT_EQ(c[2].name, "bm25");
  EXPECT_EQ(c[3].name, "ropg-kd");
  EXPECT_EQ(c[3].retriever, "dense");
  EXPECT_EQ(c[3].encoder, "runs/kd");
  ExpectErrorContaining([] { ParseSelectionCandidates("none,dense"); }, {"'dense' is not none", "NAME=ENCODER_DIR"});
  ExpectErrorContaining([] { ParseSelectionCandidates("bm25,bm26"); }, {"'bm26'"});
  ExpectErrorContaining([] { ParseSelectionCandidates("bm25,bm25"); }, {"'bm25' appears twice"});
  ExpectErrorContaining([] { ParseSelectionCandidates("bm25,=dir"); }, {"'=dir' must be NAME=ENCODER_DIR"});
  ExpectErrorContaining([] { ParseSelectionCandidates("bm25,,none"); }, {"an empty entry"});
  ExpectErrorContaining([] { ParseSelectionCandidates("bm25"); }, {"at least two retrievers"});
  ExpectErrorContaining([] { ParseSelectionCandidates("none,bm25=dir"); }, {"names a lexical retriever"});
}

TEST(RetrieverSelector, TextHasTheAnswerOnlyAfterGenerationAndKeepsTheItems) {
  auto pre = RetrieverSelector::Create(kBertFixture, "pre", {"a", "b"}, 48, 1);
  auto post = RetrieverSelector::Create(kBertFixture, "post", {"a", "b"}, 48, 1);
  const std::string input = "question words", items = "profile words", answer = "zebra";
  EXPECT_EQ(pre->Ids("a", input, items, answer), pre->Ids("a", input, items, "something else"));
  EXPECT_NE(post->Ids("a", input, items, answer), post->Ids("a", input, items, "something else"));
  EXPECT_NE(pre->Ids("a", input, items, ""), pre->Ids("b", input, items, ""));  // the retriever's name counts
  // A very long input is cut so the items still get their share.
  std::string long_input;
  for (int i = 0; i < 200; ++i) long_input += "filler ";
  const auto ids = pre->Ids("a", long_input, items, "");
  EXPECT_LE(ids.size(), 48u);
  EXPECT_NE(ids, pre->Ids("a", long_input, "other profile text", ""));
  ExpectErrorContaining(
      [] {
        RetrieverSelector::Create(kBertFixture, "during", {"a", "b"}, 48, 1);
      },
      {"variant must be pre or post, not 'during'"});
}

// Questions on one of four topics; each retriever's items (pre) or answer
// (post) are on some topic, and the utility is 1 when it is the question's.
std::vector<FeedbackRecord> TopicSelection(int questions, bool topic_in_answer) {
  const std::vector<std::string> topics = {"harbor ships", "violin concert", "wheat harvest", "chess match"};
  const std::vector<std::string> names = {"none", "bm25", "dense"};
  std::vector<FeedbackRecord> out;
  util::SplitMix64 rng(5);
  for (int q = 0; q < questions; ++q) {
    const int t = q % 4;
    FeedbackRecord r{"q" + std::to_string(q),
                     "user" + std::to_string(q % 12),
                     "",
                     "news about the " + topics[t],
                     "",
                     "retrievers",
                     "rouge1",
                     {}};
    const int right = static_cast<int>(rng.Below(3));  // which retriever gets it right
    for (int j = 0; j < 3; ++j) {
      const int topic = j == right ? t : (t + 1 + static_cast<int>(rng.Below(3))) % 4;
      const std::string text = "a story on the " + topics[topic];
      r.candidates.push_back({names[j], static_cast<uint32_t>(j), 0, j == right ? 1.0 : 0.0,
                              topic_in_answer ? text : "", "", topic_in_answer ? "" : text});
    }
    out.push_back(std::move(r));
  }
  return out;
}

RetrieverTrainOptions SelectorRun(const std::string& out_dir) {
  RetrieverTrainOptions o;
  o.command = "train-selector";
  o.lr = 3e-3;
  o.batch_size = 8;
  o.epochs = 12;
  o.heldout_fraction = 0.3;
  o.eval_every = 0;
  o.out_dir = out_dir;
  return o;
}

TEST(RetrieverSelector, PreLearnsFromTheItemsPostFromTheAnswersAndASavedSelectorPicksAlike) {
  TempDir dir;
  for (const std::string variant : {"pre", "post"}) {
    const auto feedback = TopicSelection(64, /*topic_in_answer=*/variant == "post");
    auto selector = RetrieverSelector::Create(kBertFixture, variant, {"none", "bm25", "dense"}, 128, 1);
    const auto o = SelectorRun(dir.str() + "/" + variant);
    const auto report = TrainListwise(*selector, feedback, o, nullptr);
    ASSERT_GT(report.heldout_questions, 0u);
    // Which retriever is right is random: only reading the texts beats always picking one.
    EXPECT_GT(report.after.top1_utility, report.after.best_fixed_top1_utility + 0.1) << variant;
    EXPECT_GT(report.after.top1_utility, report.before.top1_utility) << variant;
    auto loaded = RetrieverSelector::Load(o.out_dir);
    EXPECT_EQ(loaded->variant(), variant);
    EXPECT_EQ(loaded->candidates(), (std::vector<std::string>{"none", "bm25", "dense"}));
    EXPECT_EQ(loaded->Pick(feedback), selector->Pick(feedback)) << variant;
  }
  // The pre selector cannot see answers: on data where only the answer tells, it learns nothing useful.
  const auto answers_only = TopicSelection(64, true);
  auto blind = RetrieverSelector::Create(kBertFixture, "pre", {"none", "bm25", "dense"}, 128, 1);
  const auto report = TrainListwise(*blind, answers_only, SelectorRun(dir.str() + "/blind"), nullptr);
  EXPECT_LT(report.after.top1_utility, report.after.best_fixed_top1_utility + 0.1);
}

TEST(RetrieverSelector, BadDirectoriesAreNamed) {
  TempDir dir;
  ExpectErrorContaining([&] { RetrieverSelector::Load(kBertFixture); },
                        {"is not a retriever selector (no selector.json"});
  auto selector = RetrieverSelector::Create(kBertFixture, "pre", {"none", "bm25"}, 32, 1);
  const std::string good = dir.str() + "/sel";
  selector->Save(good);
  util::WriteFileAtomic(good + "/selector.json", "{\"variant\": \"pre\", \"candidates\": [\"none\"");
  ExpectErrorContaining([&] { RetrieverSelector::Load(good); }, {"selector.json: not JSON"});
  util::WriteFileAtomic(good + "/selector.json",
                        R"({"variant": "mid", "candidates": ["none", "bm25"], "max_length": 32})");
  ExpectErrorContaining([&] { RetrieverSelector::Load(good); }, {"variant must be pre or post, not 'mid'"});
  util::WriteFileAtomic(good + "/selector.json", R"({"variant": "pre", "candidates": ["none", "bm25"]})");
  ExpectErrorContaining([&] { RetrieverSelector::Load(good); },
                        {"needs \"variant\", \"candidates\" and \"max_length\""});
  // A plain BERT (no classifier head) with a selector.json is not a trained selector.
  const std::string headless = dir.str() + "/headless";
  fs::create_directories(headless);
  for (const char* f : {"config.json", "model.safetensors", "tokenizer.json"})
    fs::copy_file(kBertFixture + "/" + f, headless + "/" + f);
  util::WriteFileAtomic(headless + "/selector.json",
                        R"({"variant": "pre", "candidates": ["none", "bm25"], "max_length": 32})");
  ExpectErrorContaining([&] { RetrieverSelector::Load(headless); }, {"has no classifier head"});
}

}  // namespace
}  // namespace prlm::pipeline
