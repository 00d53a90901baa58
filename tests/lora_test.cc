// LoRA: merged equals unmerged, disabling adapters gives the base model, and
// adapters save and load on their own under PEFT's names.
#include "common/model/lora.h"

#include <gtest/gtest.h>

#include "common/model/linear.h"
#include "common/model/safetensors.h"
#include "common/util/check.h"
#include "tests/model_fixtures.h"
#include "tests/test_util.h"

namespace prlm::model {
namespace {

using prlm::testing::TinyCausalLM;

torch::Tensor Logits(CausalLM& m, const torch::Tensor& ids) {
  torch::NoGradGuard g;
  const auto mask = torch::ones_like(ids);
  return m->Logits(
      m->Forward(ids, PositionsFromMask(mask), AttentionBias(mask, 0, ids.size(1), torch::kFloat), nullptr));
}

// Gives every adapter non-zero B so that it changes the output.
void Perturb(torch::nn::Module& m) {
  torch::NoGradGuard g;
  for (auto& p : m.named_parameters())
    if (p.key().find("lora_B") != std::string::npos) p.value().normal_(0, 0.3);
}

TEST(Lora, MergedEqualsUnmergedAndDisabledEqualsBase) {
  auto m = TinyCausalLM();
  const auto ids = torch::randint(0, 97, {2, 7}, torch::kLong);
  const auto base = Logits(m, ids);
  LoraOptions o;
  o.rank = 4, o.alpha = 8, o.dropout = 0.1;
  EXPECT_EQ(ApplyLora(*m, o), 2 * 7);                  // q,k,v,o,gate,up,down per layer; not lm_head
  EXPECT_TRUE(torch::allclose(Logits(m, ids), base));  // B = 0 at init
  Perturb(*m);
  const auto unmerged = Logits(m, ids);
  EXPECT_GT((unmerged - base).abs().max().item<float>(), 1e-2);
  MergeLora(*m);
  EXPECT_LT((Logits(m, ids) - unmerged).abs().max().item<float>(), 1e-4);
  UnmergeLora(*m);
  SetLoraEnabled(*m, false);
  EXPECT_LT((Logits(m, ids) - base).abs().max().item<float>(), 1e-4);
  SetLoraEnabled(*m, true);
  // Only adapter parameters train.
  for (const auto& p : m->named_parameters()) EXPECT_EQ(p.value().requires_grad(), IsLoraParameter(p.key())) << p.key();
}

TEST(Lora, AdapterSavesAndLoadsOnItsOwn) {
  prlm::testing::TempDir dir;
  auto m = TinyCausalLM();
  LoraOptions o;
  o.rank = 2, o.alpha = 4, o.dropout = 0.0, o.target_modules = {"q_proj", "v_proj"};
  EXPECT_EQ(ApplyLora(*m, o), 4);
  Perturb(*m);
  SaveLoraAdapter(*m, o, dir / "adapter", "tiny-base");
  SafetensorsFile f(dir / "adapter/adapter_model.safetensors");
  EXPECT_EQ(f.tensors().size(), 8u);
  EXPECT_TRUE(f.Has("base_model.model.model.layers.0.self_attn.q_proj.lora_A.weight"));
  auto fresh = TinyCausalLM();  // same seed: same base weights
  const auto loaded_opts = LoadLoraAdapter(*fresh, dir / "adapter");
  EXPECT_EQ(loaded_opts.rank, 2);
  const auto ids = torch::randint(0, 97, {1, 5}, torch::kLong);
  EXPECT_TRUE(torch::equal(Logits(m, ids), Logits(fresh, ids)));
}

TEST(Lora, UnknownTargetIsRefused) {
  auto m = TinyCausalLM();
  LoraOptions o;
  o.target_modules = {"query_proj"};
  EXPECT_THROW(ApplyLora(*m, o), util::Error);
}

}  // namespace
}  // namespace prlm::model
