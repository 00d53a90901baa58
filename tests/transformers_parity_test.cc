// Logits of prlm's decoder (Qwen2, Qwen3, Llama; every RoPE scaling type) and
// BERT against Hugging Face transformers on the committed tiny models in
// tests/fixtures (max abs diff <= 1e-4, fp32). The expected values
// (tests/fixtures/NAME/expected.safetensors) were written by transformers'
// own modeling code (fp32, CPU, eager attention):
//   qwen2-tied, qwen2-untied, bert-tiny   tests/reference/transformers_logits.py,
//                                         transformers v4.39.0
//   qwen3-*, llama-*, qwen2-yarn          tests/reference/transformers_arch_logits.py,
//                                         transformers 4.51.0.dev0 (25b7f27234),
//                                         which also wrote their config and weights
// A fixture without one fails, naming the script (a changed fixture model
// needs its reference written again).
#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

#include "common/model/pretrained.h"
#include "common/model/safetensors.h"
#include "common/model/weights_io.h"

namespace prlm::model {
namespace {

const std::string kFixtures = std::string(PRLM_SOURCE_DIR) + "/tests/fixtures/";

// What transformers computed for a fixture: its inputs and outputs.
struct Expected {
  std::unique_ptr<SafetensorsFile> file;  // null until the fixture is produced
  torch::Tensor ids, mask, positions;
  torch::Tensor Get(const std::string& name) const { return ReadTensor(*file, file->Info(name)); }
};

Expected LoadExpected(const std::string& dir) {
  Expected e;
  const std::string path = dir + "/expected.safetensors";
  if (!std::filesystem::exists(path)) return e;
  e.file = std::make_unique<SafetensorsFile>(path);
  e.ids = e.Get("input_ids");
  e.mask = e.Get("attention_mask");
  // Explicit positions (past original_max_position_embeddings for the scaled
  // RoPE fixtures), else those prlm derives from left padding.
  e.positions = e.file->Has("position_ids") ? e.Get("position_ids") : PositionsFromMask(e.mask);
  return e;
}

#define REQUIRE_REFERENCE(expected, dir)                                      \
  if (!(expected).file)                                                       \
  GTEST_FAIL() << (dir) << "/expected.safetensors is missing: write it with " \
               << "tests/reference/transformers_{logits,arch_logits}.py where transformers runs"

class DecoderParity : public ::testing::TestWithParam<std::string> {};

TEST_P(DecoderParity, LogitsMatchTransformers) {
  const std::string dir = kFixtures + GetParam();
  const Expected expected = LoadExpected(dir);
  REQUIRE_REFERENCE(expected, dir);
  torch::NoGradGuard g;
  const auto& ids = expected.ids;
  const auto& mask = expected.mask;
  const auto want = expected.Get("logits");
  auto m = LoadCausalLM(dir);
  const int64_t T = ids.size(1);
  const auto got = m->Logits(m->Forward(ids, expected.positions, AttentionBias(mask, 0, T, torch::kFloat), nullptr));
  // Only real (unpadded) positions are comparable.
  const auto real = mask.to(torch::kBool).unsqueeze(-1).expand_as(got);
  const float diff = (got - want).abs().masked_select(real).max().item<float>();
  EXPECT_LE(diff, 1e-4) << "max abs logit difference vs transformers";
  EXPECT_GT(want.abs().max().item<float>(), 0.5) << "fixture logits are trivially small";
  RecordProperty("max_abs_diff", std::to_string(diff));
  std::printf("%s: max |logit difference| vs transformers %.3g\n", GetParam().c_str(), diff);
}

INSTANTIATE_TEST_SUITE_P(Fixtures, DecoderParity,
                         ::testing::Values("qwen2-untied", "qwen2-tied", "qwen2-yarn", "qwen3-tied", "qwen3-yarn",
                                           "llama-untied", "llama-linear", "llama-dynamic", "llama-llama3",
                                           "llama-yarn"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(BertParity, HiddenStatesAndPoolerMatchTransformers) {
  const std::string dir = kFixtures + "bert-tiny";
  const Expected expected = LoadExpected(dir);
  REQUIRE_REFERENCE(expected, dir);
  torch::NoGradGuard g;
  const auto& ids = expected.ids;
  const auto& mask = expected.mask;
  auto m = LoadBert(dir);
  const auto hidden = m->Forward(ids, torch::zeros_like(ids), mask);
  const auto real = mask.to(torch::kBool).unsqueeze(-1).expand_as(hidden);
  const auto want_hidden = expected.Get("last_hidden_state");
  EXPECT_LE((hidden - want_hidden).abs().masked_select(real).max().item<float>(), 1e-4);
  const auto want_pooler = expected.Get("pooler");
  EXPECT_LE((m->Pool(hidden, mask, Pooling::kPooler) - want_pooler).abs().max().item<float>(), 1e-4);
}

}  // namespace
}  // namespace prlm::model
