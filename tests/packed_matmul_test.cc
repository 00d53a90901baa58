// The engine's CPU fp32 path: packed matrices against torch's linear (each
// epilogue, shapes that are not multiples of the block), a row's result
// independent of the other rows (bit for bit), repacking after an in-place
// weight write; and the packed decoder forward against the model's own
// modules on Qwen2- and Qwen3-shaped models.
#include "common/generation/packed_matmul.h"

#include <gtest/gtest.h>

#include "common/generation/paged_forward.h"
#include "tests/model_fixtures.h"

namespace prlm::generation {
namespace {

using Epilogue = PackedMatrix::Epilogue;

torch::Tensor Multiply(const PackedMatrix& w, const torch::Tensor& x, Epilogue e, torch::Tensor y = {}) {
  if (!y.defined()) y = torch::zeros({x.size(0), w.out()});
  w.Multiply(x.contiguous().data_ptr<float>(), x.size(0), y.data_ptr<float>(), y.size(1), e);
  return y;
}

float MaxDiff(const torch::Tensor& a, const torch::Tensor& b) { return (a - b).abs().max().item<float>(); }

TEST(PackedMatrix, MatchesTorchLinearForEachEpilogue) {
  torch::manual_seed(3);
  const int64_t m = 13, in = 37;
  const auto x = torch::randn({m, in});
  const auto w1 = torch::randn({50, in}), w2 = torch::randn({30, in}), b1 = torch::randn({50});
  // Two stacked matrices (80 columns: two blocks and a half), one bias.
  const PackedMatrix stacked({w1, w2}, {b1, torch::Tensor()});
  const auto expect = torch::cat({torch::linear(x, w1, b1), torch::linear(x, w2)}, 1);
  EXPECT_LT(MaxDiff(Multiply(stacked, x, Epilogue::kStore), expect), 1e-4);
  const auto base = torch::randn({m, 80});
  EXPECT_LT(MaxDiff(Multiply(stacked, x, Epilogue::kAccumulate, base.clone()), base + expect), 1e-4);
  // SwiGLU over 21 columns (a block and 5).
  const auto gate = torch::randn({21, in}), up = torch::randn({21, in}), bg = torch::randn({21});
  const auto gate_up = PackedMatrix::GateUp(gate, up, bg, torch::Tensor());
  EXPECT_EQ(gate_up.out(), 21);
  const auto swiglu = torch::silu(torch::linear(x, gate, bg)) * torch::linear(x, up);
  EXPECT_LT(MaxDiff(Multiply(gate_up, x, Epilogue::kSwiGlu), swiglu), 1e-4);
}

TEST(PackedMatrix, ARowsResultDoesNotDependOnTheOtherRows) {
  torch::manual_seed(4);
  const auto x = torch::randn({19, 64});
  const PackedMatrix w({torch::randn({96, 64})}, {torch::randn({96})});
  const auto all = Multiply(w, x, Epilogue::kStore);
  for (int64_t r : {0, 7, 8, 18}) {
    EXPECT_TRUE(torch::equal(Multiply(w, x.narrow(0, r, 1), Epilogue::kStore), all.narrow(0, r, 1))) << r;
  }
  EXPECT_TRUE(torch::equal(Multiply(w, x.narrow(0, 5, 11), Epilogue::kStore), all.narrow(0, 5, 11)));
}

TEST(PackedMatrix, RefreshRepacksAfterAnInPlaceWrite) {
  torch::manual_seed(5);
  auto weight = torch::randn({40, 16});
  PackedMatrix w({weight}, {torch::Tensor()});
  const auto x = torch::randn({3, 16});
  const auto before = Multiply(w, x, Epilogue::kStore);
  weight.mul_(2);
  EXPECT_TRUE(torch::equal(Multiply(w, x, Epilogue::kStore), before));  // the packed copy, until refreshed
  w.Refresh();
  EXPECT_LT(MaxDiff(Multiply(w, x, Epilogue::kStore), before * 2), 1e-4);
}

// A Qwen3-shaped model (q/k norm, no biases) whose widths are not multiples
// of the packed block: q+k+v = 48+16+16, intermediate 72.
model::CausalLM OddQwen3() {
  model::DecoderConfig c = model::DecoderPreset("tiny", 97);
  c.model_type = "qwen3", c.qk_norm = true, c.attention_bias = false;
  c.hidden_size = 48, c.intermediate_size = 72, c.num_hidden_layers = 2;
  c.num_attention_heads = 3, c.num_key_value_heads = 1;
  return prlm::testing::RandomCausalLM(c, 0.2, 9);
}

TEST(PagedForward, PackedPathMatchesTheModelsModules) {
  torch::NoGradGuard no_grad;
  for (auto m : {prlm::testing::TinyCausalLM(), prlm::testing::TinyCausalLM(/*tied=*/true), OddQwen3()}) {
    const auto& c = m->config();
    PagedForward packed(m), modules(m, /*allow_packed=*/false);
    ASSERT_TRUE(packed.packed());
    ASSERT_FALSE(modules.packed());
    auto make_pool = [&] {
      KvBlockPool pool(c.num_hidden_layers, 16, 4, c.num_key_value_heads, c.head_dim(), torch::TensorOptions());
      for (int64_t l = 0; l < c.num_hidden_layers; ++l) pool.keys(l).zero_(), pool.values(l).zero_();
      return pool;
    };
    KvBlockPool pool_a = make_pool(), pool_b = make_pool();
    // Two prompt chunks, then a step that decodes one and prefills more of the other.
    AttentionBatch first, second;
    first.Add({0, 1}, 0, 6);
    first.Add({2, 3, 4}, 0, 9);
    second.Add({0, 1}, 6, 1);
    second.Add({2, 3, 4}, 9, 3);
    for (const auto* batch : {&first, &second}) {
      const auto ids = torch::randint(4, 90, {batch->tokens()}, torch::kLong);
      const auto a = packed.Run(ids, *batch, pool_a), b = modules.Run(ids, *batch, pool_b);
      ASSERT_EQ(a.sizes(), b.sizes());
      EXPECT_LT(MaxDiff(a, b), 1e-4) << c.model_type;
      EXPECT_LT(MaxDiff(packed.Logits(a), modules.Logits(b)), 1e-4) << c.model_type;
    }
    for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
      EXPECT_LT(MaxDiff(pool_a.keys(l), pool_b.keys(l)), 1e-4);
      EXPECT_LT(MaxDiff(pool_a.values(l), pool_b.values(l)), 1e-4);
    }
  }
}

}  // namespace
}  // namespace prlm::generation
