// The decoder prlm trains and samples: one architecture for Qwen2 (Qwen2.5-*,
// DeepSeek-R1-Distill-Qwen-*), Qwen3 and Llama-3.x, whose differences are
// DecoderConfig fields (q/k/v and o_proj biases, Qwen3's per-head q/k
// RMSNorm, head_dim, RoPE scaling). Token embedding, N × [RMSNorm →
// grouped-query attention with RoPE → residual → RMSNorm → SwiGLU MLP →
// residual], final RMSNorm, LM head (tied to the embedding or not). Module and
// parameter names are Hugging Face's, so named_parameters() are exactly the
// tensor names of model.safetensors.
//
// Forward() is the one code path for prefill, incremental decoding with a
// KvCache, and full-sequence scoring (log-probs). Batches are left-padded:
// callers pass per-token positions and an additive attention bias built by
// AttentionBias().
// Thread-safety: a model may run Forward() from one thread at a time.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/model/linear.h"
#include "common/model/model_config.h"

namespace prlm::model {

// Per-layer key/value tensors [B, kv_heads, capacity, head_dim]; positions
// [0, length) are filled.
struct KvCache {
  std::vector<torch::Tensor> k, v;
  int64_t length = 0;
  int64_t capacity() const { return k.empty() ? 0 : k[0].size(2); }
  int64_t batch() const { return k.empty() ? 0 : k[0].size(0); }
  // Keeps rows `index` (e.g. repeat each prompt's row G times, or drop
  // finished rows). REQUIRES: index is int64 on the cache's device.
  void SelectRows(const torch::Tensor& index);
};

// Additive attention bias [B, 1, T, past+T] for T new tokens after `past`
// cached ones: 0 where key j is visible to query i (j <= past+i and
// key_mask[b, j] = 1), kMaskedScore elsewhere.
// key_mask: [B, past+T], 1 for real tokens, 0 for padding.
// A large finite negative score: exp() of it is 0, it stays finite in bf16
// (whose lowest value would round to -inf and turn fully masked padding rows
// into NaN), and a fully masked row still softmaxes to finite values.
constexpr double kMaskedScore = -1e30;
torch::Tensor AttentionBias(const torch::Tensor& key_mask, int64_t past, int64_t new_tokens, torch::ScalarType dtype);
// Left-pads `seqs` into ids [B, L] (`pad` where padded) and mask [B, L]
// (1 for real tokens), on `device`.
std::pair<torch::Tensor, torch::Tensor> LeftPad(const std::vector<const std::vector<int32_t>*>& seqs, int32_t pad,
                                                torch::Device device);
// Positions of left-padded rows: cumsum(mask) - 1, clamped at 0.
torch::Tensor PositionsFromMask(const torch::Tensor& mask);

class RmsNormImpl : public torch::nn::Module {
 public:
  RmsNormImpl(int64_t dim, double eps);
  torch::Tensor forward(const torch::Tensor& x);
  torch::Tensor weight;
  double eps;
};
TORCH_MODULE(RmsNorm);

class AttentionImpl : public torch::nn::Module {
 public:
  explicit AttentionImpl(const DecoderConfig& c);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& bias, KvCache* cache, int64_t layer);
  // Queries [B, T, heads, head_dim], keys and values [B, T, kv_heads,
  // head_dim] of x [B, T, hidden], with q/k norm and RoPE applied (cos, sin
  // [B, T, 1, head_dim] from CausalLM::RotaryCosSin).
  std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> ProjectQkv(const torch::Tensor& x, const torch::Tensor& cos,
                                                                     const torch::Tensor& sin);
  Linear q_proj{nullptr}, k_proj{nullptr}, v_proj{nullptr}, o_proj{nullptr};
  RmsNorm q_norm{nullptr}, k_norm{nullptr};  // per head, before RoPE (qwen3 only)
  int64_t heads, kv_heads, head_dim;
};
TORCH_MODULE(Attention);

class SwiGluMlpImpl : public torch::nn::Module {
 public:
  explicit SwiGluMlpImpl(const DecoderConfig& c);
  torch::Tensor forward(const torch::Tensor& x);
  Linear gate_proj{nullptr}, up_proj{nullptr}, down_proj{nullptr};
};
TORCH_MODULE(SwiGluMlp);

class DecoderLayerImpl : public torch::nn::Module {
 public:
  explicit DecoderLayerImpl(const DecoderConfig& c);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& cos, const torch::Tensor& sin,
                        const torch::Tensor& bias, KvCache* cache, int64_t layer);
  Attention self_attn{nullptr};
  SwiGluMlp mlp{nullptr};
  RmsNorm input_layernorm{nullptr}, post_attention_layernorm{nullptr};
};
TORCH_MODULE(DecoderLayer);

class DecoderStackImpl : public torch::nn::Module {
 public:
  explicit DecoderStackImpl(const DecoderConfig& c);
  torch::nn::Embedding embed_tokens{nullptr};
  torch::nn::ModuleList layers{nullptr};
  RmsNorm norm{nullptr};
};
TORCH_MODULE(DecoderStack);

class CausalLMImpl : public torch::nn::Module {
 public:
  explicit CausalLMImpl(const DecoderConfig& c);

  // Final hidden states [B, T, hidden] of `ids` [B, T] at `positions` [B, T].
  // With a cache, the new keys/values are written at [cache->length, +T) and
  // cache->length advances. REQUIRES: bias from AttentionBias().
  torch::Tensor Forward(const torch::Tensor& ids, const torch::Tensor& positions, const torch::Tensor& bias,
                        KvCache* cache);
  torch::Tensor Logits(const torch::Tensor& hidden);
  KvCache NewCache(int64_t batch, int64_t capacity) const;
  // RoPE cos/sin [B, T, 1, head_dim] for positions [B, T], in the model dtype.
  std::pair<torch::Tensor, torch::Tensor> RotaryCosSin(const torch::Tensor& positions);

  const DecoderConfig& config() const { return config_; }
  DecoderStack model{nullptr};
  Linear lm_head{nullptr};  // null when tied to the embedding

 private:
  DecoderConfig config_;
  torch::Tensor inv_freq_;  // at max_position_embeddings (dynamic RoPE recomputes beyond)
  double rope_attention_factor_ = 1;
};
TORCH_MODULE(CausalLM);

}  // namespace prlm::model
