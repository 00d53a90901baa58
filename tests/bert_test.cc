// The BERT encoder: Hugging Face names, padding invariance, pooling, the
// classifier layout, and save/load.
#include "common/model/bert.h"

#include <gtest/gtest.h>

#include "common/model/pretrained.h"
#include "common/util/check.h"
#include "tests/model_fixtures.h"
#include "tests/test_util.h"

namespace prlm::model {
namespace {

using prlm::testing::TinyBert;

TEST(Bert, ParameterNamesAreHuggingFaces) {
  auto m = TinyBert();
  const auto params = m->named_parameters();
  for (const char* n :
       {"embeddings.word_embeddings.weight", "embeddings.LayerNorm.bias", "encoder.layer.1.attention.self.query.weight",
        "encoder.layer.0.attention.output.LayerNorm.weight", "encoder.layer.0.intermediate.dense.weight",
        "encoder.layer.0.output.dense.bias", "pooler.dense.weight"})
    EXPECT_TRUE(params.contains(n)) << n;
  auto cls = TinyBert(1);
  EXPECT_TRUE(cls->named_parameters().contains("bert.embeddings.word_embeddings.weight"));
  EXPECT_TRUE(cls->named_parameters().contains("classifier.weight"));
}

TEST(Bert, RightPaddingDoesNotChangeRealTokens) {
  torch::NoGradGuard g;
  auto m = TinyBert();
  const auto ids = torch::randint(1, 50, {1, 6}, torch::kLong);
  const auto types = torch::zeros_like(ids);
  const auto alone = m->Forward(ids, types, torch::ones_like(ids));
  auto padded = torch::zeros({1, 10}, torch::kLong);
  padded.narrow(1, 0, 6).copy_(ids);
  auto mask = torch::zeros({1, 10}, torch::kLong);
  mask.narrow(1, 0, 6).fill_(1);
  const auto h = m->Forward(padded, torch::zeros_like(padded), mask);
  EXPECT_LT((h.narrow(1, 0, 6) - alone).abs().max().item<float>(), 1e-5);
  // Mean pooling ignores the padding too.
  EXPECT_LT((m->Pool(h, mask, Pooling::kMean) - alone.mean(1)).abs().max().item<float>(), 1e-5);
  EXPECT_TRUE(torch::equal(m->Pool(h, mask, Pooling::kCls), h.select(1, 0)));
}

TEST(Bert, SaveLoadRoundTripWithClassifier) {
  torch::NoGradGuard g;
  prlm::testing::TempDir dir;
  auto m = TinyBert(1);
  SaveBert(m, dir / "rm");
  auto loaded = LoadBert(dir / "rm");
  ASSERT_TRUE(loaded->has_classifier());
  const auto ids = torch::randint(1, 50, {2, 5}, torch::kLong);
  const auto types = torch::zeros_like(ids), mask = torch::ones_like(ids);
  EXPECT_TRUE(torch::equal(m->Classify(ids, types, mask), loaded->Classify(ids, types, mask)));
  // The encoder alone loads from a classifier checkpoint ("bert." prefix).
  BertConfig enc_cfg = m->config();
  enc_cfg.num_labels = 0;
  prlm::testing::WriteBytes(dir / "rm/config.json", enc_cfg.ToJson());
  auto encoder = LoadBert(dir / "rm");
  EXPECT_TRUE(torch::equal(encoder->Forward(ids, types, mask), m->Forward(ids, types, mask)));
}

TEST(Bert, TooLongInputIsRefused) {
  auto m = TinyBert();
  const auto ids = torch::ones({1, 65}, torch::kLong);
  EXPECT_THROW(m->Forward(ids, torch::zeros_like(ids), torch::ones_like(ids)), util::Error);
}

}  // namespace
}  // namespace prlm::model
