// Logits of prlm's Qwen2 and BERT against Hugging Face transformers on the
// committed tiny models in tests/fixtures (max abs diff <= 1e-4, fp32).
// The expected values are written by tests/reference/transformers_logits.py
// where transformers is installed (the GPU machine); until a fixture has its
// expected.safetensors, its test is skipped and says so.
#include <gtest/gtest.h>

#include <filesystem>

#include "common/model/pretrained.h"
#include "common/model/safetensors.h"
#include "common/model/weights_io.h"

namespace prlm::model {
namespace {

const std::string kFixtures = std::string(PRLM_SOURCE_DIR) + "/tests/fixtures/";

class Qwen2Parity : public ::testing::TestWithParam<std::string> {};

TEST_P(Qwen2Parity, LogitsMatchTransformers) {
  const std::string dir = kFixtures + GetParam();
  if (!std::filesystem::exists(dir + "/expected.safetensors"))
    GTEST_SKIP() << dir << "/expected.safetensors not produced yet: run "
                 << "tests/reference/transformers_logits.py where transformers is installed";
  torch::NoGradGuard g;
  SafetensorsFile expected(dir + "/expected.safetensors");
  const auto ids = ReadTensor(expected, expected.Info("input_ids"));
  const auto mask = ReadTensor(expected, expected.Info("attention_mask"));
  const auto want = ReadTensor(expected, expected.Info("logits"));
  auto m = LoadQwen2(dir);
  const int64_t T = ids.size(1);
  const auto got = m->Logits(m->Forward(ids, PositionsFromMask(mask), AttentionBias(mask, 0, T, torch::kFloat), nullptr));
  // Only real (unpadded) positions are comparable.
  const auto real = mask.to(torch::kBool).unsqueeze(-1).expand_as(got);
  const float diff = (got - want).abs().masked_select(real).max().item<float>();
  EXPECT_LE(diff, 1e-4) << "max abs logit difference vs transformers";
  EXPECT_GT(want.abs().max().item<float>(), 0.5) << "fixture logits are trivially small";
}

INSTANTIATE_TEST_SUITE_P(Fixtures, Qwen2Parity, ::testing::Values("qwen2-untied", "qwen2-tied"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(BertParity, HiddenStatesAndPoolerMatchTransformers) {
  const std::string dir = kFixtures + "bert-tiny";
  if (!std::filesystem::exists(dir + "/expected.safetensors"))
    GTEST_SKIP() << dir << "/expected.safetensors not produced yet: run "
                 << "tests/reference/transformers_logits.py where transformers is installed";
  torch::NoGradGuard g;
  SafetensorsFile expected(dir + "/expected.safetensors");
  const auto ids = ReadTensor(expected, expected.Info("input_ids"));
  const auto mask = ReadTensor(expected, expected.Info("attention_mask"));
  auto m = LoadBert(dir);
  const auto hidden = m->Forward(ids, torch::zeros_like(ids), mask);
  const auto real = mask.to(torch::kBool).unsqueeze(-1).expand_as(hidden);
  const auto want_hidden = ReadTensor(expected, expected.Info("last_hidden_state"));
  EXPECT_LE((hidden - want_hidden).abs().masked_select(real).max().item<float>(), 1e-4);
  const auto want_pooler = ReadTensor(expected, expected.Info("pooler"));
  EXPECT_LE((m->Pool(hidden, mask, Pooling::kPooler) - want_pooler).abs().max().item<float>(), 1e-4);
}

}  // namespace
}  // namespace prlm::model
