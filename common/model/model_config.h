// Hugging Face config.json for the architectures prlm runs: the decoders
// (model_type qwen2: Qwen2.5-*, DeepSeek-R1-Distill-Qwen-*; qwen3; llama:
// Llama-3.x), one decoder whose differences are these fields, and BERT
// (encoder; reward model, dense retriever). Load() validates types and
// values and throws util::Error naming config.json and the field; ToJson()
// writes the keys transformers reads, so saved models load there as they are.
//
// How the decoders differ (transformers' defaults when a key is absent):
//   qwen2  q/k/v biases, no o_proj bias, head_dim = hidden / heads
//   qwen3  per-head RMSNorm of q and k (q_norm, k_norm) before RoPE,
//          attention_bias (false) on q/k/v/o, head_dim (128)
//   llama  attention_bias (false) on q/k/v/o, mlp_bias (false),
//          head_dim (hidden / heads)
// All three read rope_theta and rope_scaling (common/model/rope.h).
// No torch dependency. Plain values; thread-safe to share.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/model/rope.h"

namespace prlm::model {

struct DecoderConfig {
  std::string model_type = "qwen2";  // qwen2 | qwen3 | llama
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;
  int64_t max_position_embeddings = 32768;
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  double initializer_range = 0.02;
  bool tie_word_embeddings = false;
  bool attention_bias = true;     // q/k/v biases (qwen2 always; qwen3 / llama: on q/k/v/o when set)
  bool mlp_bias = false;          // llama
  bool qk_norm = false;           // qwen3
  int64_t explicit_head_dim = 0;  // config.json's head_dim; 0: hidden / heads
  RopeScaling rope_scaling;
  int64_t bos_token_id = -1;
  std::vector<int64_t> eos_token_ids;
  std::string torch_dtype = "float32";

  int64_t head_dim() const { return explicit_head_dim > 0 ? explicit_head_dim : hidden_size / num_attention_heads; }
  bool o_proj_bias() const { return attention_bias && model_type != "qwen2"; }
  RopeParameters rope() const { return {rope_theta, head_dim(), max_position_embeddings, rope_scaling}; }
  static DecoderConfig Load(const std::string& config_json_path);
  static DecoderConfig FromJsonText(const std::string& text, const std::string& source);
  std::string ToJson() const;
};

struct BertConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;
  int64_t num_hidden_layers = 0;
  int64_t num_attention_heads = 0;
  int64_t max_position_embeddings = 512;
  int64_t type_vocab_size = 2;
  double layer_norm_eps = 1e-12;
  double initializer_range = 0.02;
  int64_t pad_token_id = 0;
  std::string hidden_act = "gelu";
  // Dropout applies only in training mode (fine-tuning the reward model).
  double hidden_dropout_prob = 0.1;
  double attention_probs_dropout_prob = 0.1;
  double classifier_dropout = -1;  // < 0: hidden_dropout_prob, as transformers does when null
  int64_t num_labels = 0;          // >0: a classifier head on the pooled output

  static BertConfig Load(const std::string& config_json_path);
  static BertConfig FromJsonText(const std::string& text, const std::string& source);
  std::string ToJson() const;
};

// generation_config.json beside config.json (optional; transformers'
// generate() reads it): the EOS ids generation stops at, and the model's
// default sampling. Fields the file lacks stay unset.
struct GenerationConfig {
  std::vector<int64_t> eos_token_ids;
  std::optional<double> temperature, top_p;
  std::optional<int64_t> top_k;
  std::optional<bool> do_sample;

  // DIR/generation_config.json; an empty GenerationConfig when there is none.
  // Throws util::Error naming the file and field for a malformed one.
  static GenerationConfig LoadFromDir(const std::string& dir);
};

// "qwen2", "qwen3", "llama" or "bert", from config.json's model_type.
std::string DetectArchitecture(const std::string& config_json_path);

}  // namespace prlm::model
