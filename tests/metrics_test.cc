// ROUGE (rouge-score's tokenization and formulas), BLEU (sacreBLEU's), the
// Porter stemmer, answer extraction.
#include <gtest/gtest.h>

#include <cmath>

#include "common/data/task.h"
#include "common/data/task_metrics.h"
#include "common/text/answer.h"
#include "common/text/metrics.h"
#include "common/text/porter_stemmer.h"
#include "tests/test_util.h"

namespace prlm::text {
namespace {

TEST(Rouge, PublishedRougeScoreExample) {
  // The example in rouge-score's README.
  const auto s = Rouge("The quick brown fox jumps over the lazy dog", "The quick brown dog jumps on the log.");
  EXPECT_NEAR(s.rouge1.precision, 0.75, 1e-12);
  EXPECT_NEAR(s.rouge1.recall, 0.6666666666666666, 1e-12);
  EXPECT_NEAR(s.rouge1.f, 0.7058823529411765, 1e-12);
  EXPECT_NEAR(s.rougeL.precision, 0.625, 1e-12);
  EXPECT_NEAR(s.rougeL.recall, 0.5555555555555556, 1e-12);
  EXPECT_NEAR(s.rougeL.f, 0.5882352941176471, 1e-12);
}

TEST(Rouge, HandComputedBigrams) {
  // target bigrams: a-b b-c c-d; prediction: a-b b-c c-e -> 2 of 3 each way.
  const auto s = Rouge("a b c d", "a b c e");
  EXPECT_NEAR(s.rouge2.precision, 2.0 / 3, 1e-12);
  EXPECT_NEAR(s.rouge2.f, 2.0 / 3, 1e-12);
  // Clipping: "the the the" vs "the": 1 overlap, P = 1/3, R = 1.
  const auto c = Rouge("the", "the the the");
  EXPECT_NEAR(c.rouge1.precision, 1.0 / 3, 1e-12);
  EXPECT_NEAR(c.rouge1.recall, 1.0, 1e-12);
  EXPECT_NEAR(c.rouge1.f, 0.5, 1e-12);
}

TEST(Rouge, TokenizationMatchesRougeScore) {
  EXPECT_EQ(RougeTokenize("Hello, World! It's 2024-05-01."),
            (std::vector<std::string>{"hello", "world", "it", "s", "2024", "05", "01"}));
  EXPECT_EQ(RougeTokenize("Caf\xC3\xA9 na\xC3\xAFve"), (std::vector<std::string>{"caf", "na", "ve"}));
  EXPECT_TRUE(RougeTokenize("!!! ...").empty());
  // Python lower-cases U+0130 to "i" + U+0307, and the mark separates.
  EXPECT_EQ(RougeTokenize("\xC4\xB0stanbul"), (std::vector<std::string>{"i", "stanbul"}));
  const auto empty = Rouge("", "something");
  EXPECT_EQ(empty.rouge1.f, 0.0);
  EXPECT_EQ(Rouge("same words", "Same, words!").rougeL.f, 1.0);
  // Stemming only touches tokens longer than 3 characters.
  EXPECT_EQ(RougeTokenize("running cats are happy", true), (std::vector<std::string>{"run", "cat", "are", "happi"}));
  EXPECT_GT(Rouge("the cats were running", "the cat was run", true).rouge1.f,
            Rouge("the cats were running", "the cat was run", false).rouge1.f);
}

TEST(PorterStemmer, WordsFromPortersPaper) {
  const std::pair<const char*, const char*> cases[] = {{"caresses", "caress"},
                                                       {"ponies", "poni"},
                                                       {"cats", "cat"},
                                                       {"agreed", "agre"},
                                                       {"plastered", "plaster"},
                                                       {"motoring", "motor"},
                                                       {"hopping", "hop"},
                                                       {"filing", "file"},
                                                       {"happy", "happi"},
                                                       {"sky", "sky"},
                                                       {"relational", "relat"},
                                                       {"conditional", "condit"},
                                                       {"generalization", "gener"},
                                                       {"adjustment", "adjust"},
                                                       {"electrical", "electr"},
                                                       {"hopeful", "hope"},
                                                       {"goodness", "good"},
                                                       {"running", "run"},
                                                       {"feed", "feed"},
                                                       {"controlling", "control"},
                                                       {"is", "is"}};
  for (const auto& [word, stem] : cases) EXPECT_EQ(PorterStem(word), stem) << word;
}

TEST(PorterStemmer, NltkExtensionsAsRougeScoreUsesThem) {
  // NLTK's default mode (the 1980 algorithm gives dy, ski, new, ti, us, thei, dai, on, biologi, hopefulli, fly).
  const std::pair<const char*, const char*> cases[] = {{"dying", "die"},      {"skies", "sky"}, {"news", "news"},
                                                       {"ties", "tie"},       {"used", "use"},  {"they", "they"},
                                                       {"day", "day"},        {"ones", "one"},  {"biology", "biolog"},
                                                       {"hopefully", "hope"}, {"fly", "fli"}};
  for (const auto& [word, stem] : cases) EXPECT_EQ(PorterStem(word), stem) << word;
}

TEST(Bleu, HandComputed) {
  const auto same = SentenceBleu("the cat sat on the mat", {"the cat sat on the mat"});
  EXPECT_NEAR(same.score, 100.0, 1e-9);
  // Precisions 3/4, 1/3, then no 3- or 4-gram match: exp smoothing gives
  // 100/(2*2) and 100/(4*1); brevity penalty exp(1 - 6/4).
  const auto s = CorpusBleu({"the cat the cat"}, {{"the cat is on the mat"}});
  EXPECT_NEAR(s.precisions[0], 75.0, 1e-9);
  EXPECT_NEAR(s.precisions[1], 100.0 / 3, 1e-9);
  EXPECT_NEAR(s.precisions[2], 25.0, 1e-9);
  EXPECT_NEAR(s.precisions[3], 25.0, 1e-9);
  EXPECT_NEAR(s.brevity_penalty, std::exp(-0.5), 1e-12);
  EXPECT_NEAR(s.score, 100 * std::exp(-0.5) * std::pow(0.75 / 3 * 0.25 * 0.25, 0.25), 1e-9);
  EXPECT_EQ(SentenceBleu("nothing here", {"completely different"}).score, 0.0);
  // Two references: counts clip against the larger, length is the closest.
  const auto multi =
      CorpusBleu({"hello there general kenobi", "foo bar foobar"},
                 {{"hello there general kenobi", "foo bar foobar"}, {"hello there !", "foo bar foobar"}});
  EXPECT_NEAR(multi.score, 100.0, 1e-9);
}

TEST(Bleu, Tokenizer13a) {
  EXPECT_EQ(Tokenize13a("Hello, world. It costs $3.50-ish!"),
            (std::vector<std::string>{"Hello", ",", "world", ".", "It", "costs", "$", "3.50", "-", "ish", "!"}));
  EXPECT_EQ(Tokenize13a("a &amp; b"), (std::vector<std::string>{"a", "&", "b"}));
  EXPECT_EQ(Tokenize13a("don't stop"), (std::vector<std::string>{"don't", "stop"}));
  // Non-overlapping substitutions, one pass per entity, Unicode whitespace.
  EXPECT_EQ(Tokenize13a("a..5"), (std::vector<std::string>{"a", ".", ".5"}));
  EXPECT_EQ(Tokenize13a("&amp;amp;"), (std::vector<std::string>{"&", "amp", ";"}));
  EXPECT_EQ(Tokenize13a("x\xC2\xA0y"), (std::vector<std::string>{"x", "y"}));
}

TEST(TaskMetrics, ClassificationAccuracyAndMacroF1ByHand) {
  const auto& lamp1 = data::TaskByName("LaMP_1");
  // golds [1] [1] [2] [2]; answers [1] [2] [2] junk.
  // [1]: tp 1, fp 0, fn 1 -> P 1, R 1/2, F 2/3.  [2]: tp 1, fp 1, fn 1 -> P 1/2, R 1/2, F 1/2.
  const auto m = data::TaskMetrics(lamp1, {"[1]", "[1]", "[2]", " [2] "}, {"[1]", "[2]", " [2]", "junk"});
  ASSERT_EQ(m.size(), 2u);
  EXPECT_EQ(m[0].first, "accuracy");
  EXPECT_NEAR(m[0].second, 0.5, 1e-12);
  EXPECT_EQ(m[1].first, "f1");
  EXPECT_NEAR(m[1].second, (2.0 / 3 + 0.5) / 2, 1e-12);
  // LaMP-2: F1 averages over all 15 tags, so labels nobody used count as 0.
  const auto& lamp2 = data::TaskByName("LaMP_2");
  const auto m2 = data::TaskMetrics(lamp2, {"comedy", "action"}, {"comedy", "comedy"});
  // comedy: P 1/2 R 1 F 2/3; action: 0; the other 13: 0.
  EXPECT_NEAR(m2[1].second, (2.0 / 3) / 15, 1e-12);
  testing::ExpectErrorContaining([&] { data::TaskMetrics(lamp2, {"not a tag"}, {"comedy"}); }, {"not a tag", "labels"});
  EXPECT_EQ(data::AnswerScore(lamp2, "comedy", " comedy "), 1.0);
  EXPECT_EQ(data::AnswerScore(lamp2, "comedy", "Comedy"), 0.0);
}

TEST(TaskMetrics, RatingMaeRmseWithLampsMappingOfNonNumbers) {
  const auto& lamp3 = data::TaskByName("LaMP_3");
  // errors: 4-5 -> 1; 2-2 -> 0; "great" for gold 2 -> 5 (further from 2 than 1) -> 3; " 3.5 " for 1 -> 2.5
  const auto m = data::TaskMetrics(lamp3, {"5", "2", "2", "1"}, {"4", "2", "great", " 3.5 "});
  EXPECT_EQ(m[0].first, "mae");
  EXPECT_NEAR(m[0].second, (1 + 0 + 3 + 2.5) / 4, 1e-12);
  EXPECT_EQ(m[1].first, "rmse");
  EXPECT_NEAR(m[1].second, std::sqrt((1 + 0 + 9 + 6.25) / 4), 1e-12);
  EXPECT_EQ(data::RatingOf("0x10", 4), 1.0);  // Python's float() reads no hex
  EXPECT_NEAR(data::AnswerScore(lamp3, "4", "2"), 0.5, 1e-12);
  EXPECT_EQ(data::AnswerScore(lamp3, "4", "4"), 1.0);
}

TEST(TaskMetrics, GenerationHasRougeAndLongLampAddsMeteor) {
  const auto four = data::TaskMetrics(data::TaskByName("LaMP_4"), {"a b c d"}, {"a b c e"});
  ASSERT_EQ(four.size(), 2u);
  EXPECT_NEAR(four[0].second, 0.75, 1e-12);
  const auto review = data::TaskMetrics(data::TaskByName("product_review"), {"the cat sat"}, {"the cat sat"});
  ASSERT_EQ(review.size(), 3u);
  EXPECT_EQ(review[2].first, "meteor");
  EXPECT_GT(review[2].second, 0.9);
}

TEST(Answer, TakesTheAnswerAfterThinkNotInside) {
  auto a = ExtractAnswer("<think>maybe {'title': 'Draft'} no</think>\n<answer>{'title': 'Final One'}</answer>");
  EXPECT_TRUE(a.closed_think);
  EXPECT_TRUE(a.answer_tags);
  EXPECT_EQ(a.answer, "Final One");
  EXPECT_EQ(ExtractAnswer("<think>x</think> {\"title\": \"Don't Stop\"}").answer, "Don't Stop");
  EXPECT_EQ(ExtractAnswer("<think>x</think><answer>'tweet': 'so good'").answer, "so good");
  EXPECT_EQ(ExtractAnswer("<think>x</think>  plain answer ").answer, "plain answer");
  const auto none = ExtractAnswer("<think>{'title': 'only inside'}");
  EXPECT_FALSE(none.closed_think);
  EXPECT_FALSE(none.found);
  EXPECT_FALSE(ExtractAnswer("<think>x</think><answer></answer>").found);
  EXPECT_EQ(UnwrapAnswerValue("\"quoted\""), "quoted");
  EXPECT_EQ(UnwrapAnswerValue("{'title': 'unclosed"), "unclosed");
}

}  // namespace
}  // namespace prlm::text
