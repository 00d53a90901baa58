// Text metrics against outputs the genuine reference packages computed on a
// corpus built for this (tests/reference/make_metric_references.py): rouge-score,
// sacreBLEU 2.6.0, rank_bm25, NLTK 3.8's PorterStemmer, NLTKWordTokenizer and
// meteor_score with WordNet 3.0. The corpus holds the cases where a simpler
// reading goes wrong: U+0130, NLTK's stemmer extensions, every Unicode
// whitespace, 13a's non-overlapping substitutions, entities, <skipped>.
#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <set>
#include <nlohmann/json.hpp>

#include "common/text/metrics.h"
#include "common/text/meteor.h"
#include "common/text/porter_stemmer.h"
#include "common/text/unicode.h"
#include "common/text/word_tokenize.h"
#include "common/text/wordnet.h"
#include "common/util/file.h"
#include "retrieval_shards/bm25.h"

namespace prlm::text {
namespace {

using Json = nlohmann::json;

struct Fixtures {
  Json corpus, expected;
};

const Fixtures& Load() {
  static const Fixtures f = [] {
    const std::string dir = std::string(PRLM_SOURCE_DIR) + "/tests/fixtures/metrics/";
    return Fixtures{Json::parse(util::ReadFile(dir + "corpus.json")),
                    Json::parse(util::ReadFile(dir + "expected.json"))};
  }();
  return f;
}

// The largest |difference| seen, in the test's JSON report (--gtest_output).
void RecordMaxDiff(double worst) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3g", worst);
  ::testing::Test::RecordProperty("max_abs_diff", buf);
}

std::vector<std::string> Texts() {
  std::vector<std::string> texts;
  for (const auto& pair : Load().corpus["pairs"])
    for (const auto& t : pair) texts.push_back(t.get<std::string>());
  return texts;
}

void ExpectRougeRows(bool stem, const char* key) {
  const auto& pairs = Load().corpus["pairs"];
  const auto& rows = Load().expected[key];
  ASSERT_EQ(pairs.size(), rows.size());
  double worst = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const auto s = Rouge(pairs[i][0].get<std::string>(), pairs[i][1].get<std::string>(), stem);
    const double got[9] = {s.rouge1.precision, s.rouge1.recall,    s.rouge1.f,      s.rouge2.precision, s.rouge2.recall,
                           s.rouge2.f,         s.rougeL.precision, s.rougeL.recall, s.rougeL.f};
    for (int k = 0; k < 9; ++k) {
      const double d = std::abs(got[k] - rows[i][k].get<double>());
      worst = std::max(worst, d);
      EXPECT_LE(d, 1e-12) << "pair " << i << " value " << k << ": " << pairs[i];
    }
  }
  RecordMaxDiff(worst);
}

TEST(MetricsParity, RougeMatchesRougeScore) { ExpectRougeRows(false, "rouge"); }
TEST(MetricsParity, RougeWithStemmerMatchesRougeScore) { ExpectRougeRows(true, "rouge_stem"); }

TEST(MetricsParity, PorterStemmerMatchesNltkDefaultMode) {
  const auto& words = Load().corpus["stem_words"];
  const auto& stems = Load().expected["stems"];
  ASSERT_EQ(words.size(), stems.size());
  ASSERT_GT(words.size(), 4000u);
  int wrong = 0;
  for (size_t i = 0; i < words.size(); ++i) {
    const std::string got = PorterStem(words[i].get<std::string>());
    if (got != stems[i].get<std::string>() && ++wrong <= 20)
      ADD_FAILURE() << words[i] << ": " << got << " (NLTK " << stems[i] << ")";
  }
  EXPECT_EQ(wrong, 0);
}

TEST(MetricsParity, Tokenize13aMatchesSacreBleu) {
  const auto texts = Texts();
  const auto& tokens = Load().expected["tokens_13a"];
  ASSERT_EQ(texts.size(), tokens.size());
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(Tokenize13a(RStripPythonWhitespace(texts[i])), tokens[i].get<std::vector<std::string>>())
        << Json(texts[i]).dump();
}

TEST(MetricsParity, BleuMatchesSacreBleu) {
  const auto& pairs = Load().corpus["pairs"];
  const auto& sentence = Load().expected["sentence_bleu"];
  std::vector<std::string> hyps, refs;
  for (size_t i = 0; i < pairs.size(); ++i) {
    hyps.push_back(pairs[i][1].get<std::string>());
    refs.push_back(pairs[i][0].get<std::string>());
    EXPECT_NEAR(SentenceBleu(hyps.back(), {refs.back()}).score, sentence[i].get<double>(), 1e-9) << pairs[i];
  }
  const auto& corpus = Load().expected["corpus_bleu"];
  const BleuScore b = CorpusBleu(hyps, {refs});
  EXPECT_NEAR(b.score, corpus["score"].get<double>(), 1e-9);
  EXPECT_NEAR(b.brevity_penalty, corpus["bp"].get<double>(), 1e-12);
  EXPECT_EQ(b.hypothesis_length, corpus["sys_len"].get<size_t>());
  EXPECT_EQ(b.reference_length, corpus["ref_len"].get<size_t>());
  for (int n = 0; n < 4; ++n) EXPECT_NEAR(b.precisions[n], corpus["precisions"][n].get<double>(), 1e-9);
}

TEST(MetricsParity, Bm25MatchesRankBm25) {
  const auto& sets = Load().corpus["bm25"];
  const auto& expected = Load().expected["bm25"];
  size_t queries = 0;
  for (size_t s = 0; s < sets.size(); ++s) {
    const auto bm = retrieval_shards::Bm25::Build(sets[s]["documents"].get<std::vector<std::string>>(), {});
    for (size_t q = 0; q < sets[s]["queries"].size(); ++q, ++queries) {
      const auto scores = bm.Scores(sets[s]["queries"][q].get<std::string>());
      const auto& want = expected[s][q];
      ASSERT_EQ(scores.size(), want.size());
      for (size_t d = 0; d < scores.size(); ++d)
        EXPECT_NEAR(scores[d], want[d].get<double>(), 1e-12) << "set " << s << " query " << q << " doc " << d;
    }
  }
  EXPECT_EQ(queries, 45u);
}

TEST(MetricsParity, WordTokenizerMatchesNltk) {
  const auto texts = Texts();
  const auto& tokens = Load().expected["word_tokens"];
  ASSERT_EQ(texts.size(), tokens.size());
  for (size_t i = 0; i < texts.size(); ++i)
    EXPECT_EQ(NltkWordTokenize(texts[i]), tokens[i].get<std::vector<std::string>>()) << Json(texts[i]).dump();
}

TEST(MetricsParity, WordNetSynonymsMatchNltk) {
  for (const auto& [word, names] : Load().expected["synonyms"].items()) {
    const auto got = WordNet::Default().Synonyms(word);
    EXPECT_EQ(std::set<std::string>(got.begin(), got.end()), names.get<std::set<std::string>>()) << word;
  }
}

TEST(MetricsParity, MeteorMatchesNltk) {
  const auto& pairs = Load().corpus["pairs"];
  const auto& meteor = Load().expected["meteor"];
  ASSERT_EQ(pairs.size(), meteor.size());
  double worst = 0;
  int nonzero = 0;
  for (size_t i = 0; i < pairs.size(); ++i) {
    const double got = Meteor(pairs[i][0].get<std::string>(), pairs[i][1].get<std::string>());
    worst = std::max(worst, std::abs(got - meteor[i].get<double>()));
    nonzero += meteor[i].get<double>() > 0;
    EXPECT_NEAR(got, meteor[i].get<double>(), 1e-6) << "pair " << i << ": " << pairs[i];
  }
  EXPECT_GT(nonzero, 200);  // the corpus exercises real alignments
  RecordMaxDiff(worst);
}

TEST(Meteor, MissingWordNetIsAClearError) {
  try {
    WordNet db("/nonexistent/wordnet");
    FAIL() << "loaded a missing database";
  } catch (const std::exception& e) {
    EXPECT_NE(std::string(e.what()).find("wordnet-base"), std::string::npos) << e.what();
  }
}

}  // namespace
}  // namespace prlm::text
