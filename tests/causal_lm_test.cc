// The decoder forward pass: incremental decoding with the KV cache equals a full
// forward, left padding does not change a sequence's logits, saving and
// loading keeps logits identical.
#include "common/model/causal_lm.h"

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>

#include "common/generation/generate.h"
#include "common/model/pretrained.h"
#include "common/model/safetensors.h"
#include "common/model/weights_io.h"
#include "tests/model_fixtures.h"
#include "tests/test_util.h"

namespace prlm::model {
namespace {

using prlm::testing::TinyCausalLM;

torch::Tensor FullLogits(CausalLM& m, const torch::Tensor& ids) {
  const auto mask = torch::ones_like(ids);
  const int64_t T = ids.size(1);
  return m->Logits(m->Forward(ids, PositionsFromMask(mask), AttentionBias(mask, 0, T, torch::kFloat), nullptr));
}

TEST(CausalLM, KvCacheIncrementalDecodingEqualsFullForward) {
  torch::NoGradGuard g;
  for (bool tied : {false, true}) {
    auto m = TinyCausalLM(tied);
    const auto ids = torch::randint(0, 97, {2, 12}, torch::kLong);
    const auto full = FullLogits(m, ids);
    // Prefill 5 tokens, then feed the remaining 7 one at a time.
    KvCache cache = m->NewCache(2, 12);
    auto mask = torch::ones({2, 5}, torch::kLong);
    auto h = m->Forward(ids.narrow(1, 0, 5), PositionsFromMask(mask), AttentionBias(mask, 0, 5, torch::kFloat), &cache);
    std::vector<torch::Tensor> steps = {m->Logits(h)};
    for (int64_t t = 5; t < 12; ++t) {
      mask = torch::ones({2, t + 1}, torch::kLong);
      const auto pos = torch::full({2, 1}, t, torch::kLong);
      h = m->Forward(ids.narrow(1, t, 1), pos, AttentionBias(mask, t, 1, torch::kFloat), &cache);
      steps.push_back(m->Logits(h));
    }
    const auto incremental = torch::cat(steps, 1);
    EXPECT_EQ(cache.length, 12);
    EXPECT_LT((incremental - full).abs().max().item<float>(), 1e-4) << "tied=" << tied;
    EXPECT_GT(full.std().item<float>(), 0.1);  // logits are not trivially flat
  }
}

TEST(CausalLM, LeftPaddedBatchGivesEachSequenceItsOwnLogits) {
  torch::NoGradGuard g;
  auto m = TinyCausalLM();
  const auto a = torch::randint(0, 97, {1, 9}, torch::kLong);
  const auto b = torch::randint(0, 97, {1, 4}, torch::kLong);
  const auto alone_a = FullLogits(m, a), alone_b = FullLogits(m, b);
  auto ids = torch::zeros({2, 9}, torch::kLong);
  auto mask = torch::zeros({2, 9}, torch::kLong);
  ids[0] = a[0];
  mask[0].fill_(1);
  ids[1].narrow(0, 5, 4).copy_(b[0]);
  mask[1].narrow(0, 5, 4).fill_(1);
  const auto logits =
      m->Logits(m->Forward(ids, PositionsFromMask(mask), AttentionBias(mask, 0, 9, torch::kFloat), nullptr));
  EXPECT_LT((logits[0] - alone_a[0]).abs().max().item<float>(), 1e-4);
  EXPECT_LT((logits[1].narrow(0, 5, 4) - alone_b[0]).abs().max().item<float>(), 1e-4);
}

TEST(CausalLM, SaveLoadKeepsLogitsAndUsesHuggingFaceNames) {
  torch::NoGradGuard g;
  prlm::testing::TempDir dir;
  auto m = TinyCausalLM();
  SaveCausalLM(m, dir / "m");
  SafetensorsFile f(dir / "m/model.safetensors");
  EXPECT_TRUE(f.Has("model.embed_tokens.weight"));
  EXPECT_TRUE(f.Has("model.layers.1.self_attn.q_proj.bias"));
  EXPECT_TRUE(f.Has("model.layers.0.mlp.gate_proj.weight"));
  EXPECT_TRUE(f.Has("model.norm.weight"));
  EXPECT_TRUE(f.Has("lm_head.weight"));
  EXPECT_FALSE(f.Has("model.layers.0.self_attn.o_proj.bias"));
  auto loaded = LoadCausalLM(dir / "m");
  const auto ids = torch::randint(0, 97, {1, 6}, torch::kLong);
  EXPECT_TRUE(torch::equal(FullLogits(m, ids), FullLogits(loaded, ids)));
}

TEST(CausalLM, Bf16CheckpointLoadsIntoFp32) {
  torch::NoGradGuard g;
  prlm::testing::TempDir dir;
  auto m = TinyCausalLM();
  SaveCausalLM(m, dir / "m");
  // Rewrite the weights as BF16, as released checkpoints are.
  SaveParameters(*m, dir / "m/model.safetensors", nullptr, nullptr, torch::kBFloat16);
  auto loaded = LoadCausalLM(dir / "m");
  const auto w = m->model->embed_tokens->weight;
  EXPECT_TRUE(torch::equal(loaded->model->embed_tokens->weight, w.to(torch::kBFloat16).to(torch::kFloat)));
}

TEST(CausalLM, ShardedCheckpointWithIndexLoads) {
  torch::NoGradGuard g;
  prlm::testing::TempDir dir;
  auto m = prlm::testing::TinyCausalLM();
  SaveCausalLM(m, dir / "m");
  std::filesystem::remove(dir / "m/model.safetensors");
  // Two shards: embeddings and head in one, the layers in the other.
  const auto first = [](const std::string& n) { return n.rfind("model.layers.", 0) != 0; };
  SaveParameters(*m, dir / "m/model-00001-of-00002.safetensors", first, nullptr);
  SaveParameters(
      *m, dir / "m/model-00002-of-00002.safetensors", [&](const std::string& n) { return !first(n); }, nullptr);
  nlohmann::json index = {{"metadata", nlohmann::json::object()}, {"weight_map", nlohmann::json::object()}};
  for (const auto& p : m->named_parameters())
    index["weight_map"][p.key()] =
        first(p.key()) ? "model-00001-of-00002.safetensors" : "model-00002-of-00002.safetensors";
  prlm::testing::WriteBytes(dir / "m/model.safetensors.index.json", index.dump());
  auto loaded = LoadCausalLM(dir / "m");
  const auto ids = torch::randint(0, 97, {1, 5}, torch::kLong);
  EXPECT_TRUE(torch::equal(FullLogits(m, ids), FullLogits(loaded, ids)));
  // An index naming a shard that is not there is refused with its name.
  std::filesystem::remove(dir / "m/model-00002-of-00002.safetensors");
  prlm::testing::ExpectErrorContaining([&] { LoadCausalLM(dir / "m"); }, {"model-00002-of-00002.safetensors"});
}

TEST(CausalLM, Bf16ForwardWithLeftPaddingIsFiniteAndCloseToFp32) {
  torch::NoGradGuard g;
  auto m = TinyCausalLM();
  auto ids = torch::randint(0, 97, {2, 8}, torch::kLong);
  auto mask = torch::ones({2, 8}, torch::kLong);
  mask[1].narrow(0, 0, 3).zero_();  // fully masked padding rows must not turn into NaN
  const auto run = [&](CausalLM& model) {
    return model
        ->Logits(model->Forward(ids, PositionsFromMask(mask), AttentionBias(mask, 0, 8, torch::kFloat), nullptr))
        .to(torch::kFloat);
  };
  const auto fp32 = run(m);
  m->to(torch::kBFloat16);
  const auto bf16 = run(m);
  EXPECT_TRUE(torch::isfinite(bf16).all().item<bool>());
  const auto real = mask.to(torch::kBool).unsqueeze(-1).expand_as(fp32);
  // bf16 keeps ~3 significant digits; logits here are O(1-10).
  const float diff = (bf16 - fp32).abs().masked_select(real).max().item<float>();
  EXPECT_LT(diff, 0.1f * fp32.abs().max().item<float>());
  // Generation runs end to end in bf16 too.
  generation::SamplingParams p;
  p.max_new_tokens = 4;
  const auto out = generation::Generate(m, {generation::GenerationRequest{{1, 2, 3}, {5, 6}}}, p);
  for (const auto& c : out[0]) {
    EXPECT_EQ(c.tokens.size(), 4u);
    for (float lp : c.logprobs) EXPECT_TRUE(std::isfinite(lp) && lp <= 0);
  }
}

}  // namespace
}  // namespace prlm::model
