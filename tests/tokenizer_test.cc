// Tokenizer behaviour on small hand-made tokenizer.json files: BPE merge
// order, added tokens, WordPiece, decoding, and errors on malformed files.
#include "common/text/tokenizer.h"

#include <gtest/gtest.h>

#include "common/text/builtin_corpus.h"
#include "common/util/check.h"
#include "pipeline/bpe_trainer.h"
#include "tests/test_util.h"

namespace prlm::text {
namespace {

// A byte-level BPE over "abc" with merges a+b (rank 0) then ab+c, b+c.
std::string TinyBpe() {
  return R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 1, "c": 2, "ab": 3, "bc": 4, "abc": 5, "Ġ": 6},
             "merges": ["a b", "b c", "ab c"]},
           "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false, "use_regex": true},
           "decoder": {"type": "ByteLevel"},
           "added_tokens": [{"id": 7, "content": "<|x|>", "special": true},
                            {"id": 8, "content": "<s>", "special": false, "lstrip": true, "rstrip": true}]})";
}

TEST(Tokenizer, BpeAppliesLowestRankMergeFirst) {
  const auto tok = Tokenizer::FromJsonText(TinyBpe(), "tiny");
  // "abc": a+b (rank 0) wins over b+c (rank 1), then ab+c.
  EXPECT_EQ(tok->Encode("abc"), (std::vector<int32_t>{5}));
  EXPECT_EQ(tok->Encode("bc"), (std::vector<int32_t>{4}));
  EXPECT_EQ(tok->Encode("cab"), (std::vector<int32_t>{2, 3}));
  EXPECT_EQ(tok->Encode("abc abc"), (std::vector<int32_t>{5, 6, 5}));
}

TEST(Tokenizer, AddedTokensSplitTheTextAndStripWhitespace) {
  const auto tok = Tokenizer::FromJsonText(TinyBpe(), "tiny");
  EXPECT_EQ(tok->Encode("ab<|x|>c"), (std::vector<int32_t>{3, 7, 2}));
  EXPECT_EQ(tok->Encode("ab  <s>  c"), (std::vector<int32_t>{3, 8, 2}));  // lstrip + rstrip
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{3, 7, 2}), "ab<|x|>c");
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{3, 7, 2}, /*skip_special_tokens=*/true), "abc");
  EXPECT_TRUE(tok->IsSpecial(7));
  EXPECT_FALSE(tok->IsSpecial(8));
}

TEST(Tokenizer, DecodeOfPartialUtf8GivesReplacementCharacter) {
  // Ids for the bytes of "é" (0xC3 0xA9) in a byte-level vocabulary.
  const auto tok = Tokenizer::FromJsonText(
      R"({"model": {"type": "BPE", "vocab": {"Ã": 0, "©": 1}, "merges": []},
          "pre_tokenizer": {"type": "ByteLevel", "add_prefix_space": false}, "decoder": {"type": "ByteLevel"}})",
      "bytes");
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{0, 1}), "\xC3\xA9");
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{0}), "\xEF\xBF\xBD");
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{1, 1, 99}), "\xEF\xBF\xBD\xEF\xBF\xBD");  // unknown id skipped
}

TEST(Tokenizer, WordPieceGreedyLongestMatchAndUnk) {
  const auto tok = Tokenizer::FromJsonText(
      R"({"model": {"type": "WordPiece", "unk_token": "[UNK]",
                    "vocab": {"[UNK]": 0, "[CLS]": 1, "[SEP]": 2, "un": 3, "##aff": 4, "##able": 5, "aff": 6, "!": 7}},
          "normalizer": {"type": "BertNormalizer", "lowercase": true},
          "pre_tokenizer": {"type": "BertPreTokenizer"},
          "post_processor": {"type": "BertProcessing", "sep": ["[SEP]", 2], "cls": ["[CLS]", 1]},
          "decoder": {"type": "WordPiece"}})",
      "wp");
  EXPECT_EQ(tok->Encode("UnAffable!"), (std::vector<int32_t>{3, 4, 5, 7}));
  EXPECT_EQ(tok->Encode("unaffablex"), (std::vector<int32_t>{0}));  // unmatched tail: whole word [UNK]
  EXPECT_EQ(tok->Encode("aff", true), (std::vector<int32_t>{1, 6, 2}));
  const auto pair = tok->EncodePair("aff", "un");
  EXPECT_EQ(pair.ids, (std::vector<int32_t>{1, 6, 2, 3, 2}));
  EXPECT_EQ(pair.type_ids, (std::vector<int32_t>{0, 0, 0, 1, 1}));
  EXPECT_EQ(tok->Decode(std::vector<int32_t>{3, 4, 5, 7}), "unaffable!");
}

TEST(Tokenizer, MalformedFilesAreRefusedWithTheReason) {
  const auto expect_error = [](const std::string& json, const std::string& needle) {
    prlm::testing::ExpectErrorContaining([&] { Tokenizer::FromJsonText(json, "bad.json"); }, {needle, "bad.json"});
  };
  expect_error("{not json", "not valid JSON");
  expect_error(R"({"normalizer": null})", "no \"model\"");
  expect_error(R"({"model": {"type": "Unigram", "vocab": []}})", "unsupported model type 'Unigram'");
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 0}, "merges": ["a b"]}})",
               "merge 0 ('a', 'b') uses a token not in the vocabulary");
  expect_error(R"({"model": {"type": "BPE", "vocab": {"a": 0, "b": 0}, "merges": []}})", "id 0 is given to both");
  expect_error(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}, "pre_tokenizer": {"type": "Split",
                  "pattern": {"Regex": "(unclosed"}, "behavior": "Isolated"}})",
               "invalid regex");
  expect_error(R"({"model": {"type": "WordPiece", "vocab": {"a": 0}}})", "unk_token '[UNK]' is not in the vocabulary");
  expect_error(R"({"model": {"type": "BPE", "vocab": {}, "merges": []}, "normalizer": {"type": "Magic"}})",
               "unsupported normalizer type 'Magic'");
}

TEST(BpeTrainer, LearnsFrequentWordsAndRoundTrips) {
  pipeline::BpeTrainerOptions opt;
  opt.vocab_size = 600;
  const auto corpus = BuiltinCorpus(500, 1);
  const auto tok = Tokenizer::FromJsonText(pipeline::TrainByteLevelBpe(corpus, opt), "trained");
  EXPECT_LE(tok->vocab_size(), 600);
  EXPECT_GT(tok->vocab_size(), 400);
  // A frequent word of the corpus becomes one token.
  EXPECT_EQ(tok->Encode(" announced").size(), 1u);
  for (const auto& line : corpus) EXPECT_EQ(tok->Decode(tok->Encode(line)), line);
  const auto im_end = tok->TokenToId("<|im_end|>");
  ASSERT_TRUE(im_end.has_value());
  EXPECT_EQ(tok->Encode("x<|im_end|>").back(), *im_end);
  pipeline::BpeTrainerOptions too_small;
  too_small.vocab_size = 100;
  EXPECT_THROW(pipeline::TrainByteLevelBpe(corpus, too_small), util::Error);
}

}  // namespace
}  // namespace prlm::text
