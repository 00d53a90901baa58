// RoPE scaling (common/model/rope.h) against hand-computed frequencies for
// each rope_type, config.json's rope_scaling and architecture fields
// validated with named errors, generation_config.json's EOS ids joining
// config.json's, and the decoder's Qwen3 and Llama variants: their parameter
// names, save/load, and position scaling seen in the logits (linear factor 2
// at positions 2p equals no scaling at p).
#include <gtest/gtest.h>

#include <cmath>

#include "common/model/model_config.h"
#include "common/model/pretrained.h"
#include "common/model/causal_lm.h"
#include "common/model/rope.h"
#include "common/model/safetensors.h"
#include "tests/test_util.h"

namespace prlm::model {
namespace {

using prlm::testing::ExpectErrorContaining;

RopeParameters Rope(const std::string& type, double factor) {
  RopeParameters r;
  r.theta = 10000;
  r.head_dim = 8;  // default frequencies 1, 0.1, 0.01, 0.001
  r.max_position_embeddings = 1000;
  r.scaling.type = type;
  r.scaling.factor = factor;
  return r;
}

void ExpectFrequencies(const std::vector<double>& got, const std::vector<double>& want, const std::string& what) {
  ASSERT_EQ(got.size(), want.size()) << what;
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(got[i], want[i], 1e-12 * std::max(1.0, want[i])) << what << " " << i;
}

TEST(Rope, EachTypeGivesTheFrequenciesOfItsFormula) {
  ExpectFrequencies(RopeInverseFrequencies(Rope("default", 1), 10), {1, 0.1, 0.01, 0.001}, "default");
  ExpectFrequencies(RopeInverseFrequencies(Rope("linear", 2), 10), {0.5, 0.05, 0.005, 0.0005}, "linear");
  // dynamic: the default up to max_position_embeddings (1000); at 2000
  // positions with factor 2, theta' = 10000 * (2 * 2 - 1)^(8/6).
  const auto dynamic = Rope("dynamic", 2);
  ExpectFrequencies(RopeInverseFrequencies(dynamic, 1000), {1, 0.1, 0.01, 0.001}, "dynamic within");
  const double theta = 10000 * std::pow(3.0, 8.0 / 6);
  ExpectFrequencies(RopeInverseFrequencies(dynamic, 2000),
                    {1, std::pow(theta, -0.25), std::pow(theta, -0.5), std::pow(theta, -0.75)}, "dynamic beyond");
  EXPECT_TRUE(RopeDependsOnLength(dynamic));
  EXPECT_FALSE(RopeDependsOnLength(Rope("llama3", 8)));
  // llama3, factor 8, L0 = 1000, low 1, high 4: wavelengths 2 pi / f are
  // 6.28 and 62.8 (< 250: kept), 628 (between: smoothed), 6283 (> 1000: / 8).
  auto llama3 = Rope("llama3", 8);
  llama3.scaling.original_max_position_embeddings = 1000;
  const double smooth = (1000 / (2 * M_PI / 0.01) - 1) / 3;
  ExpectFrequencies(RopeInverseFrequencies(llama3, 10), {1, 0.1, (1 - smooth) * 0.01 / 8 + smooth * 0.01, 0.001 / 8},
                    "llama3");
  // yarn, factor 4, L0 = 2048, beta 32 / 1: correction dims 1.008 -> 1 and
  // 2.513 -> 3, so the ramp over the 4 dims is 0, 0, 0.5, 1.
  auto yarn = Rope("yarn", 4);
  yarn.scaling.original_max_position_embeddings = 2048;
  ExpectFrequencies(RopeInverseFrequencies(yarn, 10), {1, 0.1, 0.01 * (0.5 / 4 + 0.5), 0.001 / 4}, "yarn");
  EXPECT_NEAR(RopeAttentionFactor(yarn), 0.1 * std::log(4.0) + 1, 1e-12);
  yarn.scaling.mscale = yarn.scaling.mscale_all_dim = 1;
  EXPECT_NEAR(RopeAttentionFactor(yarn), 1.0, 1e-12) << "equal mscales cancel";
  yarn.scaling.attention_factor = 0.9;
  EXPECT_NEAR(RopeAttentionFactor(yarn), 0.9, 1e-12) << "given, it wins";
  EXPECT_EQ(RopeAttentionFactor(llama3), 1.0);
}

std::string DecoderJson(const std::string& type, const std::string& extra) {
  return R"({"model_type": ")" + type + R"(", "vocab_size": 97, "hidden_size": 64, "intermediate_size": 96,
             "num_hidden_layers": 2, "num_attention_heads": 4, "num_key_value_heads": 2, "rope_theta": 1000.0)" +
         extra + "}";
}

TEST(DecoderConfig, ArchitecturesReadTheirFieldsAndRopeScalingIsValidated) {
  const auto qwen3 = DecoderConfig::FromJsonText(DecoderJson("qwen3", ""), "q3.json");
  EXPECT_TRUE(qwen3.qk_norm);
  EXPECT_FALSE(qwen3.attention_bias);
  EXPECT_EQ(qwen3.head_dim(), 128) << "transformers' Qwen3Config default";
  const auto llama =
      DecoderConfig::FromJsonText(DecoderJson("llama", R"(, "attention_bias": true, "mlp_bias": true, "head_dim": 32,
                    "rope_scaling": {"rope_type": "llama3", "factor": 8.0, "low_freq_factor": 1.0,
                                     "high_freq_factor": 4.0, "original_max_position_embeddings": 512})"),
                                  "llama.json");
  EXPECT_TRUE(llama.attention_bias && llama.mlp_bias && llama.o_proj_bias());
  EXPECT_EQ(llama.head_dim(), 32);
  EXPECT_EQ(llama.max_position_embeddings, 2048) << "LlamaConfig's default";
  EXPECT_EQ(llama.rope_scaling.type, "llama3");
  EXPECT_EQ(llama.rope_scaling.original_max_position_embeddings, 512);
  // The written config reads back the same.
  const auto again = DecoderConfig::FromJsonText(llama.ToJson(), "again");
  EXPECT_EQ(again.model_type, "llama");
  EXPECT_TRUE(again.mlp_bias);
  EXPECT_EQ(again.head_dim(), 32);
  EXPECT_EQ(again.rope_scaling.high_freq_factor, 4.0);
  const auto qwen2 =
      DecoderConfig::FromJsonText(DecoderJson("qwen2", R"(, "rope_scaling": {"type": "yarn", "factor": 4.0,
                                                   "original_max_position_embeddings": 32768})"),
                                  "q2.json");
  EXPECT_TRUE(qwen2.attention_bias && !qwen2.o_proj_bias());
  EXPECT_EQ(qwen2.rope_scaling.type, "yarn") << "the older key 'type'";
  EXPECT_EQ(qwen2.rope_scaling.beta_fast, 32);
  // Errors name the file and what is wrong.
  ExpectErrorContaining([] { DecoderConfig::FromJsonText(DecoderJson("gemma", ""), "g.json"); },
                        {"g.json", "model_type 'gemma'", "qwen2, qwen3, llama"});
  ExpectErrorContaining(
      [] {
        DecoderConfig::FromJsonText(DecoderJson("llama", R"(, "rope_scaling": {"rope_type": "longrope"})"), "l.json");
      },
      {"l.json", "rope_type 'longrope' is not supported", "llama3, yarn"});
  ExpectErrorContaining(
      [] {
        DecoderConfig::FromJsonText(DecoderJson("llama", R"(, "rope_scaling": {"rope_type": "llama3", "factor": 8.0,
                                  "high_freq_factor": 4.0, "original_max_position_embeddings": 512})"),
                                    "l.json");
      },
      {"l.json", "llama3' needs 'low_freq_factor'"});
  ExpectErrorContaining(
      [] {
        DecoderConfig::FromJsonText(DecoderJson("qwen2", R"(, "rope_scaling": {"rope_type": "linear"})"), "q.json");
      },
      {"q.json", "needs 'factor'"});
  ExpectErrorContaining(
      [] { DecoderConfig::FromJsonText(DecoderJson("qwen2", R"(, "rope_scaling": {"factor": 2.0})"), "q.json"); },
      {"q.json", "'rope_type'"});
  ExpectErrorContaining([] { DecoderConfig::FromJsonText(DecoderJson("llama", R"(, "mlp_bias": "yes")"), "l.json"); },
                        {"l.json", "'mlp_bias' must be true or false"});
}

// transformers 5 writes RoPE as rope_parameters, with rope_theta inside it.
TEST(DecoderConfig, Transformers5RopeParametersReadAsRopeScalingAndTheta) {
  const auto v5 = DecoderConfig::FromJsonText(
      DecoderJson("qwen3", R"(, "dtype": "bfloat16", "rope_parameters": {"rope_type": "yarn", "factor": 4.0,
                    "rope_theta": 1000000.0, "original_max_position_embeddings": 32768})"),
      "v5.json");
  const auto v4 = DecoderConfig::FromJsonText(
      DecoderJson("qwen3", R"(, "rope_theta": 1000000.0, "rope_scaling": {"rope_type": "yarn", "factor": 4.0,
                    "original_max_position_embeddings": 32768})"),
      "v4.json");
  EXPECT_EQ(v5.rope_theta, 1e6);
  EXPECT_EQ(v5.rope_scaling.type, "yarn");
  EXPECT_EQ(v5.torch_dtype, "bfloat16") << "transformers 5's 'dtype'";
  EXPECT_EQ(RopeInverseFrequencies(v5.rope(), 1), RopeInverseFrequencies(v4.rope(), 1));
  EXPECT_EQ(RopeAttentionFactor(v5.rope()), RopeAttentionFactor(v4.rope()));
  // The default type carries only the base.
  const auto plain = DecoderConfig::FromJsonText(
      DecoderJson("llama", R"(, "rope_parameters": {"rope_type": "default", "rope_theta": 500000.0})"), "p.json");
  EXPECT_EQ(plain.rope_theta, 5e5);
  EXPECT_EQ(plain.rope_scaling.type, "default");
  ExpectErrorContaining(
      [] {
        DecoderConfig::FromJsonText(
            DecoderJson("qwen3", R"(, "rope_parameters": {"full_attention": {"rope_type": "default"},
                                  "sliding_attention": {"rope_type": "default"}})"),
            "g.json");
      },
      {"g.json", "rope_parameters has per-layer-type parameters ('full_attention')"});
  ExpectErrorContaining(
      [] {
        DecoderConfig::FromJsonText(
            DecoderJson("llama", R"(, "rope_parameters": {"rope_type": "default", "partial_rotary_factor": 0.5})"),
            "p.json");
      },
      {"p.json", "partial_rotary_factor other than 1"});
}

TEST(GenerationConfig, EosIdsJoinConfigJsonsAndSamplingDefaultsAreRead) {
  prlm::testing::TempDir dir;
  auto m = CausalLM(DecoderConfig::FromJsonText(DecoderJson("llama", R"(, "eos_token_id": 5)"), "tiny"));
  SaveCausalLM(m, dir / "m");
  EXPECT_TRUE(GenerationConfig::LoadFromDir(dir / "m").eos_token_ids.empty()) << "no file: nothing set";
  prlm::testing::WriteBytes(dir / "m/generation_config.json",
                            R"({"eos_token_id": [5, 7], "temperature": 0.6, "top_p": 0.95, "do_sample": true})");
  const auto g = GenerationConfig::LoadFromDir(dir / "m");
  EXPECT_EQ(g.eos_token_ids, (std::vector<int64_t>{5, 7}));
  EXPECT_EQ(g.temperature, 0.6);
  EXPECT_EQ(g.top_p, 0.95);
  EXPECT_EQ(g.top_k, std::nullopt);
  EXPECT_EQ(g.do_sample, true);
  EXPECT_EQ(LoadCausalLM(dir / "m")->config().eos_token_ids, (std::vector<int64_t>{5, 7}))
      << "config.json's 5, then generation_config.json's new 7";
  prlm::testing::WriteBytes(dir / "m/generation_config.json", R"({"eos_token_id": "<eos>"})");
  ExpectErrorContaining([&] { GenerationConfig::LoadFromDir(dir / "m"); },
                        {"generation_config.json", "'eos_token_id' must be an integer or a list"});
}

CausalLM TinyDecoder(const std::string& extra, const std::string& type = "qwen2") {
  auto c = DecoderConfig::FromJsonText(DecoderJson(type, extra), "tiny");
  CausalLM m(c);
  InitializeWeights(*m, 0.2, 3);
  // Norm weights away from 1, so q_norm / k_norm matter.
  torch::NoGradGuard g;
  for (auto& p : m->named_parameters())
    if (p.key().find("norm") != std::string::npos) p.value().uniform_(0.5, 1.5);
  m->eval();
  return m;
}

torch::Tensor LogitsAt(CausalLM& m, const torch::Tensor& ids, const torch::Tensor& positions) {
  const auto mask = torch::ones_like(ids);
  return m->Logits(m->Forward(ids, positions, AttentionBias(mask, 0, ids.size(1), torch::kFloat), nullptr));
}

TEST(Decoder, Qwen3AndLlamaHaveTheirOwnParametersAndRoundTrip) {
  torch::NoGradGuard g;
  prlm::testing::TempDir dir;
  const auto ids = torch::randint(0, 97, {1, 7}, torch::kLong);
  const auto positions = torch::arange(7, torch::kLong).unsqueeze(0);
  for (const std::string type : {"qwen3", "llama"}) {
    auto m = TinyDecoder(type == "qwen3" ? R"(, "head_dim": 16)" : "", type);
    SaveCausalLM(m, dir / type);
    SafetensorsFile f(dir / (type + "/model.safetensors"));
    EXPECT_EQ(f.Has("model.layers.0.self_attn.q_norm.weight"), type == "qwen3") << type;
    EXPECT_EQ(f.Has("model.layers.0.self_attn.k_norm.weight"), type == "qwen3") << type;
    EXPECT_FALSE(f.Has("model.layers.0.self_attn.q_proj.bias")) << type;
    EXPECT_FALSE(f.Has("model.layers.0.mlp.up_proj.bias")) << type;
    auto loaded = LoadCausalLM(dir / type);
    EXPECT_EQ(loaded->config().model_type, type);
    EXPECT_TRUE(torch::equal(LogitsAt(m, ids, positions), LogitsAt(loaded, ids, positions))) << type;
  }
  // q_norm is used: changing it changes the logits.
  auto m = TinyDecoder(R"(, "head_dim": 16)", "qwen3");
  const auto before = LogitsAt(m, ids, positions);
  m->named_parameters()["model.layers.0.self_attn.q_norm.weight"].mul_(2);
  EXPECT_GT((LogitsAt(m, ids, positions) - before).abs().max().item<float>(), 1e-3);
}

TEST(Decoder, RopeScalingActsOnPositionsAsItsFormulaSays) {
  torch::NoGradGuard g;
  const auto ids = torch::randint(0, 97, {1, 6}, torch::kLong);
  const auto p = torch::arange(6, torch::kLong).unsqueeze(0);
  auto plain = TinyDecoder("");
  auto linear = TinyDecoder(R"(, "rope_scaling": {"rope_type": "linear", "factor": 2.0})");
  // Same seed, same weights: linear factor 2 at positions 2p is plain at p.
  EXPECT_LT((LogitsAt(linear, ids, p * 2) - LogitsAt(plain, ids, p)).abs().max().item<float>(), 1e-5);
  EXPECT_GT((LogitsAt(linear, ids, p) - LogitsAt(plain, ids, p)).abs().max().item<float>(), 1e-3);
  // Dynamic is plain until the sequence passes max_position_embeddings.
  auto dynamic =
      TinyDecoder(R"(, "max_position_embeddings": 32, "rope_scaling": {"rope_type": "dynamic", "factor": 2.0})");
  auto plain32 = TinyDecoder(R"(, "max_position_embeddings": 32)");
  EXPECT_LT((LogitsAt(dynamic, ids, p + 20) - LogitsAt(plain32, ids, p + 20)).abs().max().item<float>(), 1e-6);
  EXPECT_GT((LogitsAt(dynamic, ids, p + 40) - LogitsAt(plain32, ids, p + 40)).abs().max().item<float>(), 1e-4);
  // Yarn's attention factor scales cos and sin: with factor 1 and an
  // attention_factor of 1 it is plain.
  auto yarn1 = TinyDecoder(R"(, "rope_scaling": {"rope_type": "yarn", "factor": 1.0, "attention_factor": 1.0})");
  EXPECT_LT((LogitsAt(yarn1, ids, p) - LogitsAt(plain, ids, p)).abs().max().item<float>(), 1e-6);
}

}  // namespace
}  // namespace prlm::model
