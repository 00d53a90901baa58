// Hugging Face config.json for the two architectures prlm runs: Qwen2
// (decoder; Qwen2.5-*, DeepSeek-R1-Distill-Qwen-*) and BERT (encoder; reward
// model, dense retriever). Load() validates types and values and throws
// prlm::Error naming config.json and the field; ToJson() writes the keys
// transformers reads, so saved models load there as they are.
// No torch dependency. Plain values; thread-safe to share.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prlm::model {

struct Qwen2Config {
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
  bool attention_bias = true;  // q/k/v projections have biases in Qwen2
  int64_t bos_token_id = -1;
  std::vector<int64_t> eos_token_ids;
  std::string torch_dtype = "float32";

  int64_t head_dim() const { return hidden_size / num_attention_heads; }
  static Qwen2Config Load(const std::string& config_json_path);
  static Qwen2Config FromJsonText(const std::string& text, const std::string& source);
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
  int64_t num_labels = 0;  // >0: a classifier head on the pooled output

  static BertConfig Load(const std::string& config_json_path);
  static BertConfig FromJsonText(const std::string& text, const std::string& source);
  std::string ToJson() const;
};

// "qwen2" or "bert", from config.json's model_type (or architectures).
std::string DetectArchitecture(const std::string& config_json_path);

}  // namespace prlm::model
