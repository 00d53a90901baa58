#include "common/generation/paged_forward.h"

#include <cmath>

#include "common/util/check.h"

namespace prlm::generation {

namespace {

// y = w · (x · rsqrt(mean(x²) + eps)) over `dim`, as RmsNormImpl computes it.
void RmsNormRow(const float* x, const float* w, int64_t dim, float eps, float* y) {
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t j = 0; j < dim; ++j) sum += x[j] * x[j];
  const float r = 1.0f / std::sqrt(sum / static_cast<float>(dim) + eps);
#pragma omp simd
  for (int64_t j = 0; j < dim; ++j) y[j] = w[j] * (x[j] * r);
}

void RmsNormRows(const torch::Tensor& x, const model::RmsNorm& norm, torch::Tensor& y) {
  const int64_t n = x.size(0), dim = x.size(1);
  const float* xp = x.data_ptr<float>();
  const float* w = norm->weight.data_ptr<float>();
  float* yp = y.data_ptr<float>();
  for (int64_t i = 0; i < n; ++i) RmsNormRow(xp + i * dim, w, dim, static_cast<float>(norm->eps), yp + i * dim);
}

// dst = src · cos + rotate_half(src) · sin for one head (RoPE as ProjectQkv
// applies it), src first RMS-normalised when the model norms q and k.
void RotateHead(const float* src, const float* cos, const float* sin, int64_t dim, const model::RmsNorm& norm,
                float* dst) {
  float normed[512];
  if (norm) {
    PRLM_CHECK(dim <= 512);
    RmsNormRow(src, norm->weight.data_ptr<float>(), dim, static_cast<float>(norm->eps), normed);
    src = normed;
  }
  const int64_t half = dim / 2;
#pragma omp simd
  for (int64_t j = 0; j < half; ++j) dst[j] = src[j] * cos[j] + -src[j + half] * sin[j];
#pragma omp simd
  for (int64_t j = half; j < dim; ++j) dst[j] = src[j] * cos[j] + src[j - half] * sin[j];
}

bool AnyLoraActive(model::CausalLM& model) {
  for (const auto& m : model->modules(/*include_self=*/false)) {
    const auto* linear = dynamic_cast<const model::LinearImpl*>(m.get());
    if (linear && linear->lora_active()) return true;
  }
  return false;
}

}  // namespace

PagedForward::PagedForward(model::CausalLM model, bool allow_packed)
    : model_(std::move(model)), allow_packed_(allow_packed) {}

bool PagedForward::packed() const {
  const auto& embed = model_->model->embed_tokens->weight;
  return allow_packed_ && embed.device().is_cpu() && embed.scalar_type() == torch::kFloat &&
         !AnyLoraActive(const_cast<model::CausalLM&>(model_));
}

torch::Tensor PagedForward::Run(const torch::Tensor& ids, const AttentionBatch& batch, KvBlockPool& pool) {
  return packed() ? RunPacked(ids, batch, pool) : RunModules(ids, batch, pool);
}

torch::Tensor PagedForward::RunModules(const torch::Tensor& ids, const AttentionBatch& batch, KvBlockPool& pool) {
  const auto device = ids.device();
  const int64_t N = ids.size(0);
  const auto positions = torch::tensor(batch.positions, torch::kInt).to(device, torch::kLong).view({1, N});
  auto [cos, sin] = model_->RotaryCosSin(positions);  // [1, N, 1, head_dim]
  auto h = model_->model->embed_tokens(ids.view({1, N}));
  auto& layers = *model_->model->layers;
  for (size_t i = 0; i < layers.size(); ++i) {
    auto* layer = layers[i]->as<model::DecoderLayerImpl>();
    auto [q, k, v] = layer->self_attn->ProjectQkv(layer->input_layernorm(h), cos, sin);
    const auto attn = PagedAttention(q[0], k[0], v[0], pool, static_cast<int64_t>(i), batch);
    h = h + layer->self_attn->o_proj(attn.unsqueeze(0));
    h = h + layer->mlp(layer->post_attention_layernorm(h));
  }
  return model_->model->norm(h)[0];
}

void PagedForward::PackOrRefresh() {
  auto& layers = *model_->model->layers;
  if (layers_.empty()) {
    for (size_t i = 0; i < layers.size(); ++i) {
      auto* layer = layers[i]->as<model::DecoderLayerImpl>();
      const auto& a = *layer->self_attn;
      const auto& mlp = *layer->mlp;
      layers_.push_back(
          {PackedMatrix({a.q_proj->weight, a.k_proj->weight, a.v_proj->weight},
                        {a.q_proj->bias, a.k_proj->bias, a.v_proj->bias}),
           PackedMatrix({a.o_proj->weight}, {a.o_proj->bias}),
           PackedMatrix::GateUp(mlp.gate_proj->weight, mlp.up_proj->weight, mlp.gate_proj->bias, mlp.up_proj->bias),
           PackedMatrix({mlp.down_proj->weight}, {mlp.down_proj->bias})});
    }
    const auto& head = model_->lm_head;
    lm_head_ = head ? PackedMatrix({head->weight}, {head->bias})
                    : PackedMatrix({model_->model->embed_tokens->weight}, {torch::Tensor()});
    return;
  }
  for (auto& l : layers_) {
    for (auto* m : {&l.qkv, &l.o, &l.gate_up, &l.down}) m->Refresh();
  }
  lm_head_.Refresh();
}

torch::Tensor PagedForward::Logits(const torch::Tensor& hidden) {
  if (!packed()) return model_->Logits(hidden);
  PackOrRefresh();
  const auto x = hidden.contiguous();
  auto logits = torch::empty({x.size(0), lm_head_.out()});
  lm_head_.Multiply(x.data_ptr<float>(), x.size(0), logits.data_ptr<float>(), logits.size(1),
                    PackedMatrix::Epilogue::kStore);
  return logits;
}

torch::Tensor PagedForward::RunPacked(const torch::Tensor& ids, const AttentionBatch& batch, KvBlockPool& pool) {
  // 1. Packed weights, renewed if a weight was written since.
  PackOrRefresh();
  auto& layers = *model_->model->layers;
  const auto& attn0 = *layers[0]->as<model::DecoderLayerImpl>()->self_attn;
  const int64_t N = ids.size(0), heads = attn0.heads, kv_heads = attn0.kv_heads, dim = attn0.head_dim;
  const int64_t hidden = model_->config().hidden_size, q_width = heads * dim, kv_width = kv_heads * dim;
  // 2. Embeddings and the step's RoPE angles.
  const auto positions = torch::tensor(batch.positions, torch::kInt).to(torch::kLong).view({1, N});
  auto [cos_t, sin_t] = model_->RotaryCosSin(positions);
  const auto cos = cos_t.reshape({N, dim}).contiguous(), sin = sin_t.reshape({N, dim}).contiguous();
  auto h = model_->model->embed_tokens(ids).contiguous();  // [N, hidden], the residual stream
  auto x = torch::empty_like(h);
  auto qkv = torch::empty({N, q_width + 2 * kv_width});
  auto q = torch::empty({N, heads, dim}), k = torch::empty({N, kv_heads, dim}), v = torch::empty({N, kv_heads, dim});
  auto act = torch::empty({N, layers_[0].gate_up.out()});
  float* hp = h.data_ptr<float>();
  // 3. The layers: norm → qkv → RoPE → paged attention → o (+= h) → norm →
  //    gate·up with SwiGLU → down (+= h).
  for (size_t i = 0; i < layers.size(); ++i) {
    auto* layer = layers[i]->as<model::DecoderLayerImpl>();
    const auto& a = *layer->self_attn;
    const auto& packed = layers_[i];
    RmsNormRows(h, layer->input_layernorm, x);
    packed.qkv.Multiply(x.data_ptr<float>(), N, qkv.data_ptr<float>(), qkv.size(1), PackedMatrix::Epilogue::kStore);
    for (int64_t t = 0; t < N; ++t) {
      const float* row = qkv.data_ptr<float>() + t * qkv.size(1);
      const float *c = cos.data_ptr<float>() + t * dim, *s = sin.data_ptr<float>() + t * dim;
      for (int64_t j = 0; j < heads; ++j) {
        RotateHead(row + j * dim, c, s, dim, a.q_norm, q.data_ptr<float>() + (t * heads + j) * dim);
      }
      for (int64_t j = 0; j < kv_heads; ++j) {
        RotateHead(row + q_width + j * dim, c, s, dim, a.k_norm, k.data_ptr<float>() + (t * kv_heads + j) * dim);
      }
      std::copy_n(row + q_width + kv_width, kv_width, v.data_ptr<float>() + t * kv_width);
    }
    const auto attn = PagedAttention(q, k, v, pool, static_cast<int64_t>(i), batch);  // [N, heads * dim]
    packed.o.Multiply(attn.data_ptr<float>(), N, hp, hidden, PackedMatrix::Epilogue::kAccumulate);
    RmsNormRows(h, layer->post_attention_layernorm, x);
    packed.gate_up.Multiply(x.data_ptr<float>(), N, act.data_ptr<float>(), act.size(1),
                            PackedMatrix::Epilogue::kSwiGlu);
    packed.down.Multiply(act.data_ptr<float>(), N, hp, hidden, PackedMatrix::Epilogue::kAccumulate);
  }
  // 4. The final norm.
  RmsNormRows(h, model_->model->norm, x);
  return x;
}

}  // namespace prlm::generation
