#include "common/model/causal_lm.h"

#include <cmath>

#include "common/model/accurate_matmul.h"
#include "common/util/check.h"

namespace prlm::model {

void KvCache::SelectRows(const torch::Tensor& index) {
  for (auto& t : k) t = t.index_select(0, index);
  for (auto& t : v) t = t.index_select(0, index);
}

torch::Tensor AttentionBias(const torch::Tensor& key_mask, int64_t past, int64_t new_tokens, torch::ScalarType dtype) {
  const int64_t total = key_mask.size(1);
  PRLM_CHECK(total == past + new_tokens);
  const auto opts = torch::TensorOptions().device(key_mask.device());
  // Query i sits at absolute index past+i; key j is visible if j <= past+i.
  const auto q_idx = torch::arange(past, total, opts.dtype(torch::kLong)).unsqueeze(1);
  const auto k_idx = torch::arange(0, total, opts.dtype(torch::kLong)).unsqueeze(0);
  const auto causal = k_idx.le(q_idx);                                                // [T, S]
  const auto visible = causal.unsqueeze(0) & key_mask.to(torch::kBool).unsqueeze(1);  // [B,T,S]
  PRLM_CHECK_MSG(dtype != torch::kHalf, "fp16 cannot hold kMaskedScore; use bf16");
  return torch::zeros(visible.sizes(), opts.dtype(dtype))
      .masked_fill_(visible.logical_not(), kMaskedScore)
      .unsqueeze(1);
}

std::pair<torch::Tensor, torch::Tensor> LeftPad(const std::vector<const std::vector<int32_t>*>& seqs, int32_t pad,
                                                torch::Device device) {
  size_t L = 0;
  for (const auto* s : seqs) L = std::max(L, s->size());
  const int64_t B = static_cast<int64_t>(seqs.size());
  auto ids = torch::full({B, static_cast<int64_t>(L)}, pad, torch::kLong);
  auto mask = torch::zeros({B, static_cast<int64_t>(L)}, torch::kLong);
  auto ia = ids.accessor<int64_t, 2>();
  auto ma = mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& s = *seqs[b];
    const size_t off = L - s.size();
    for (size_t t = 0; t < s.size(); ++t) ia[b][off + t] = s[t], ma[b][off + t] = 1;
  }
  return {ids.to(device), mask.to(device)};
}

torch::Tensor PositionsFromMask(const torch::Tensor& mask) {
  return (mask.to(torch::kLong).cumsum(1) - 1).clamp_min(0);
}

RmsNormImpl::RmsNormImpl(int64_t dim, double eps_) : eps(eps_) {
  weight = register_parameter("weight", torch::ones({dim}));
}

torch::Tensor RmsNormImpl::forward(const torch::Tensor& x) {
  const auto xf = x.to(torch::kFloat);
  const auto normed = xf * torch::rsqrt(xf.pow(2).mean(-1, /*keepdim=*/true) + eps);
  return weight * normed.to(x.scalar_type());
}

AttentionImpl::AttentionImpl(const DecoderConfig& c)
    : heads(c.num_attention_heads), kv_heads(c.num_key_value_heads), head_dim(c.head_dim()) {
  q_proj = register_module("q_proj", Linear(c.hidden_size, heads * head_dim, c.attention_bias));
  k_proj = register_module("k_proj", Linear(c.hidden_size, kv_heads * head_dim, c.attention_bias));
  v_proj = register_module("v_proj", Linear(c.hidden_size, kv_heads * head_dim, c.attention_bias));
  o_proj = register_module("o_proj", Linear(heads * head_dim, c.hidden_size, c.o_proj_bias()));
  if (c.qk_norm) {
    q_norm = register_module("q_norm", RmsNorm(head_dim, c.rms_norm_eps));
    k_norm = register_module("k_norm", RmsNorm(head_dim, c.rms_norm_eps));
  }
}

namespace {

// The RoPE frequencies for positions reaching `positions`, in fp32.
torch::Tensor FrequencyTensor(const RopeParameters& rope, int64_t positions) {
  return torch::tensor(RopeInverseFrequencies(rope, positions), torch::kDouble).to(torch::kFloat);
}

torch::Tensor RotateHalf(const torch::Tensor& x) {
  const int64_t half = x.size(-1) / 2;
  return torch::cat({-x.narrow(-1, half, half), x.narrow(-1, 0, half)}, -1);
}

}  // namespace

std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> AttentionImpl::ProjectQkv(const torch::Tensor& x,
                                                                                  const torch::Tensor& cos,
                                                                                  const torch::Tensor& sin) {
  const int64_t B = x.size(0), T = x.size(1);
  auto q = q_proj(x).view({B, T, heads, head_dim});
  auto k = k_proj(x).view({B, T, kv_heads, head_dim});
  if (q_norm) {
    q = q_norm(q);
    k = k_norm(k);
  }
  auto v = v_proj(x).view({B, T, kv_heads, head_dim});
  q = q * cos + RotateHalf(q) * sin;
  k = k * cos + RotateHalf(k) * sin;
  return {q, k, v};
}

torch::Tensor AttentionImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                     const torch::Tensor& bias, KvCache* cache, int64_t layer) {
  const int64_t B = x.size(0), T = x.size(1);
  auto [q, k, v] = ProjectQkv(x, cos, sin);
  q = q.transpose(1, 2);
  k = k.transpose(1, 2);
  v = v.transpose(1, 2);
  if (cache) {
    const int64_t past = cache->length;
    PRLM_CHECK_MSG(past + T <= cache->capacity(),
                   "KV cache overflow: " << past << " + " << T << " > " << cache->capacity());
    cache->k[layer].narrow(2, past, T).copy_(k);
    cache->v[layer].narrow(2, past, T).copy_(v);
    if (past > 0) {  // attend over everything cached; a prefill has it all in k, v
      k = cache->k[layer].narrow(2, 0, past + T);
      v = cache->v[layer].narrow(2, 0, past + T);
    }
  }
  const int64_t S = k.size(2), group = heads / kv_heads;
  // Grouped-query attention without copying K/V: query heads of one KV head
  // form one [group*T, head_dim] block.
  auto qg = q.reshape({B, kv_heads, group * T, head_dim});
  auto scores = MatmulAccumulatingInFp32(qg, k.transpose(-1, -2)) * (1.0 / std::sqrt(double(head_dim)));
  scores = scores.view({B, kv_heads, group, T, S}) + bias.unsqueeze(2);
  auto probs = torch::softmax(scores.to(torch::kFloat), -1).to(q.scalar_type());
  auto out = MatmulAccumulatingInFp32(probs.view({B, kv_heads, group * T, S}), v);  // [B,kv,g*T,hd]
  out = out.view({B, heads, T, head_dim}).transpose(1, 2).reshape({B, T, heads * head_dim});
  return o_proj(out);
}

SwiGluMlpImpl::SwiGluMlpImpl(const DecoderConfig& c) {
  gate_proj = register_module("gate_proj", Linear(c.hidden_size, c.intermediate_size, c.mlp_bias));
  up_proj = register_module("up_proj", Linear(c.hidden_size, c.intermediate_size, c.mlp_bias));
  down_proj = register_module("down_proj", Linear(c.intermediate_size, c.hidden_size, c.mlp_bias));
}

torch::Tensor SwiGluMlpImpl::forward(const torch::Tensor& x) {
  const auto gate = gate_proj(x);
  return down_proj(torch::silu(gate) * up_proj(x));
}

DecoderLayerImpl::DecoderLayerImpl(const DecoderConfig& c) {
  self_attn = register_module("self_attn", Attention(c));
  mlp = register_module("mlp", SwiGluMlp(c));
  input_layernorm = register_module("input_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
  post_attention_layernorm = register_module("post_attention_layernorm", RmsNorm(c.hidden_size, c.rms_norm_eps));
}

torch::Tensor DecoderLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                                        const torch::Tensor& bias, KvCache* cache, int64_t layer) {
  auto h = x + self_attn(input_layernorm(x), cos, sin, bias, cache, layer);
  return h + mlp(post_attention_layernorm(h));
}

DecoderStackImpl::DecoderStackImpl(const DecoderConfig& c) {
  embed_tokens = register_module("embed_tokens", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  layers = register_module("layers", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers->push_back(DecoderLayer(c));
  norm = register_module("norm", RmsNorm(c.hidden_size, c.rms_norm_eps));
}

CausalLMImpl::CausalLMImpl(const DecoderConfig& c) : config_(c) {
  model = register_module("model", DecoderStack(c));
  if (!c.tie_word_embeddings) lm_head = register_module("lm_head", Linear(c.hidden_size, c.vocab_size, false));
  inv_freq_ = register_buffer("inv_freq", FrequencyTensor(c.rope(), c.max_position_embeddings));
  rope_attention_factor_ = RopeAttentionFactor(c.rope());
}

std::pair<torch::Tensor, torch::Tensor> CausalLMImpl::RotaryCosSin(const torch::Tensor& positions) {
  torch::Tensor inv_freq = inv_freq_.to(positions.device());
  if (RopeDependsOnLength(config_.rope())) {
    // Dynamic NTK: the frequencies of a sequence reaching max position + 1
    // (transformers recomputes them per forward from position_ids).
    const int64_t reach = positions.numel() == 0 ? 0 : positions.max().item<int64_t>() + 1;
    if (reach > config_.max_position_embeddings)
      inv_freq = FrequencyTensor(config_.rope(), reach).to(positions.device());
  }
  // Angles in fp32 as transformers computes them, then cast to the model dtype.
  const auto freqs = positions.to(torch::kFloat).unsqueeze(-1) * inv_freq;
  const auto emb = torch::cat({freqs, freqs}, -1).unsqueeze(2);  // [B,T,1,hd]
  const auto dtype = model->embed_tokens->weight.scalar_type();
  if (rope_attention_factor_ != 1.0)
    return {(emb.cos() * rope_attention_factor_).to(dtype), (emb.sin() * rope_attention_factor_).to(dtype)};
  return {emb.cos().to(dtype), emb.sin().to(dtype)};
}

torch::Tensor CausalLMImpl::Forward(const torch::Tensor& ids, const torch::Tensor& positions, const torch::Tensor& bias,
                                    KvCache* cache) {
  auto [cos, sin] = RotaryCosSin(positions);
  auto h = model->embed_tokens(ids);
  const auto b = bias.to(h.scalar_type());
  for (size_t i = 0; i < model->layers->size(); ++i)
    h = model->layers[i]->as<DecoderLayerImpl>()->forward(h, cos, sin, b, cache, static_cast<int64_t>(i));
  if (cache) cache->length += ids.size(1);
  return model->norm(h);
}

torch::Tensor CausalLMImpl::Logits(const torch::Tensor& hidden) {
  if (lm_head) return lm_head(hidden);
  return torch::matmul(hidden, model->embed_tokens->weight.t());
}

KvCache CausalLMImpl::NewCache(int64_t batch, int64_t capacity) const {
  KvCache c;
  const auto opts = model->embed_tokens->weight.options().requires_grad(false);
  for (int64_t i = 0; i < config_.num_hidden_layers; ++i) {
    c.k.push_back(torch::zeros({batch, config_.num_key_value_heads, capacity, config_.head_dim()}, opts));
    c.v.push_back(torch::zeros({batch, config_.num_key_value_heads, capacity, config_.head_dim()}, opts));
  }
  return c;
}

}  // namespace prlm::model
