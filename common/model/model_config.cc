#include "common/model/model_config.h"

#include <nlohmann/json.hpp>

#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::model {
namespace {

nlohmann::json ParseConfig(const std::string& text, const std::string& source) {
  nlohmann::json j;
  try {
    j = nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    PRLM_THROW("config '" << source << "' is not valid JSON: " << e.what());
  }
  PRLM_REQUIRE(j.is_object(), "config '" << source << "' is not a JSON object");
  return j;
}

// Reads an integer field; `required` fields must be present and > 0.
int64_t Int(const nlohmann::json& j, const std::string& source, const char* key, int64_t dflt,
            bool required) {
  if (!j.contains(key) || j[key].is_null()) {
    PRLM_REQUIRE(!required, "config '" << source << "': missing required field '" << key << "'");
    return dflt;
  }
  PRLM_REQUIRE(j[key].is_number_integer(), "config '" << source << "': field '" << key
                                                      << "' must be an integer, got " << j[key].dump());
  const int64_t v = j[key].get<int64_t>();
  PRLM_REQUIRE(!required || v > 0, "config '" << source << "': field '" << key
                                              << "' must be positive, got " << v);
  return v;
}

double Num(const nlohmann::json& j, const std::string& source, const char* key, double dflt) {
  if (!j.contains(key) || j[key].is_null()) return dflt;
  PRLM_REQUIRE(j[key].is_number(), "config '" << source << "': field '" << key
                                              << "' must be a number, got " << j[key].dump());
  return j[key].get<double>();
}

}  // namespace

Qwen2Config Qwen2Config::FromJsonText(const std::string& text, const std::string& src) {
  const nlohmann::json j = ParseConfig(text, src);
  Qwen2Config c;
  c.vocab_size = Int(j, src, "vocab_size", 0, true);
  c.hidden_size = Int(j, src, "hidden_size", 0, true);
  c.intermediate_size = Int(j, src, "intermediate_size", 0, true);
  c.num_hidden_layers = Int(j, src, "num_hidden_layers", 0, true);
  c.num_attention_heads = Int(j, src, "num_attention_heads", 0, true);
  c.num_key_value_heads = Int(j, src, "num_key_value_heads", c.num_attention_heads, false);
  c.max_position_embeddings = Int(j, src, "max_position_embeddings", 32768, false);
  c.rms_norm_eps = Num(j, src, "rms_norm_eps", 1e-6);
  c.rope_theta = Num(j, src, "rope_theta", 10000.0);
  c.initializer_range = Num(j, src, "initializer_range", 0.02);
  c.tie_word_embeddings = j.value("tie_word_embeddings", false);
  c.bos_token_id = Int(j, src, "bos_token_id", -1, false);
  if (j.contains("eos_token_id") && j["eos_token_id"].is_array())
    c.eos_token_ids = j["eos_token_id"].get<std::vector<int64_t>>();
  else if (j.contains("eos_token_id") && j["eos_token_id"].is_number_integer())
    c.eos_token_ids = {j["eos_token_id"].get<int64_t>()};
  c.torch_dtype = j.value("torch_dtype", std::string("float32"));
  const std::string act = j.value("hidden_act", std::string("silu"));
  PRLM_REQUIRE(act == "silu", "config '" << src << "': hidden_act '" << act
                                         << "' is not supported (Qwen2 uses silu)");
  PRLM_REQUIRE(c.hidden_size % c.num_attention_heads == 0,
               "config '" << src << "': hidden_size " << c.hidden_size
                          << " is not divisible by num_attention_heads " << c.num_attention_heads);
  PRLM_REQUIRE(c.num_key_value_heads > 0 && c.num_attention_heads % c.num_key_value_heads == 0,
               "config '" << src << "': num_attention_heads " << c.num_attention_heads
                          << " is not a multiple of num_key_value_heads " << c.num_key_value_heads);
  PRLM_REQUIRE(c.head_dim() % 2 == 0, "config '" << src << "': head dimension " << c.head_dim()
                                                 << " must be even for rotary embeddings");
  if (j.contains("rope_scaling") && !j["rope_scaling"].is_null())
    PRLM_THROW("config '" << src << "': rope_scaling is not supported yet");
  return c;
}

Qwen2Config Qwen2Config::Load(const std::string& path) { return FromJsonText(ReadFile(path), path); }

std::string Qwen2Config::ToJson() const {
  nlohmann::ordered_json j;
  j["architectures"] = {"Qwen2ForCausalLM"};
  j["model_type"] = "qwen2";
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["num_key_value_heads"] = num_key_value_heads;
  j["max_position_embeddings"] = max_position_embeddings;
  j["max_window_layers"] = num_hidden_layers;
  j["hidden_act"] = "silu";
  j["rms_norm_eps"] = rms_norm_eps;
  j["rope_theta"] = rope_theta;
  j["initializer_range"] = initializer_range;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["use_sliding_window"] = false;
  j["sliding_window"] = nullptr;
  j["attention_dropout"] = 0.0;
  j["use_cache"] = true;
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_ids.size() == 1) j["eos_token_id"] = eos_token_ids[0];
  else if (!eos_token_ids.empty()) j["eos_token_id"] = eos_token_ids;
  j["torch_dtype"] = torch_dtype;
  return j.dump(2) + "\n";
}

BertConfig BertConfig::FromJsonText(const std::string& text, const std::string& src) {
  const nlohmann::json j = ParseConfig(text, src);
  BertConfig c;
  c.vocab_size = Int(j, src, "vocab_size", 0, true);
  c.hidden_size = Int(j, src, "hidden_size", 0, true);
  c.intermediate_size = Int(j, src, "intermediate_size", 0, true);
  c.num_hidden_layers = Int(j, src, "num_hidden_layers", 0, true);
  c.num_attention_heads = Int(j, src, "num_attention_heads", 0, true);
  c.max_position_embeddings = Int(j, src, "max_position_embeddings", 512, false);
  c.type_vocab_size = Int(j, src, "type_vocab_size", 2, false);
  c.layer_norm_eps = Num(j, src, "layer_norm_eps", 1e-12);
  c.initializer_range = Num(j, src, "initializer_range", 0.02);
  c.pad_token_id = Int(j, src, "pad_token_id", 0, false);
  c.hidden_act = j.value("hidden_act", std::string("gelu"));
  PRLM_REQUIRE(c.hidden_act == "gelu", "config '" << src << "': hidden_act '" << c.hidden_act
                                                  << "' is not supported (BERT uses gelu)");
  c.hidden_dropout_prob = Num(j, src, "hidden_dropout_prob", 0.1);
  c.attention_probs_dropout_prob = Num(j, src, "attention_probs_dropout_prob", 0.1);
  if (j.contains("classifier_dropout") && !j["classifier_dropout"].is_null())
    c.classifier_dropout = Num(j, src, "classifier_dropout", -1);
  for (double p : {c.hidden_dropout_prob, c.attention_probs_dropout_prob, c.classifier_dropout})
    PRLM_REQUIRE(p < 1, "config '" << src << "': a dropout probability of " << p << " is not below 1");
  if (j.contains("id2label") && j["id2label"].is_object())
    c.num_labels = static_cast<int64_t>(j["id2label"].size());
  c.num_labels = Int(j, src, "num_labels", c.num_labels, false);
  PRLM_REQUIRE(c.hidden_size % c.num_attention_heads == 0,
               "config '" << src << "': hidden_size " << c.hidden_size
                          << " is not divisible by num_attention_heads " << c.num_attention_heads);
  return c;
}

BertConfig BertConfig::Load(const std::string& path) { return FromJsonText(ReadFile(path), path); }

std::string BertConfig::ToJson() const {
  nlohmann::ordered_json j;
  j["architectures"] = {num_labels > 0 ? "BertForSequenceClassification" : "BertModel"};
  j["model_type"] = "bert";
  j["vocab_size"] = vocab_size;
  j["hidden_size"] = hidden_size;
  j["intermediate_size"] = intermediate_size;
  j["num_hidden_layers"] = num_hidden_layers;
  j["num_attention_heads"] = num_attention_heads;
  j["max_position_embeddings"] = max_position_embeddings;
  j["type_vocab_size"] = type_vocab_size;
  j["layer_norm_eps"] = layer_norm_eps;
  j["initializer_range"] = initializer_range;
  j["pad_token_id"] = pad_token_id;
  j["hidden_act"] = hidden_act;
  j["hidden_dropout_prob"] = hidden_dropout_prob;
  j["attention_probs_dropout_prob"] = attention_probs_dropout_prob;
  if (classifier_dropout >= 0) j["classifier_dropout"] = classifier_dropout;
  j["position_embedding_type"] = "absolute";
  if (num_labels > 0) {
    j["num_labels"] = num_labels;
    nlohmann::ordered_json id2label, label2id;
    for (int64_t i = 0; i < num_labels; ++i) {
      id2label[std::to_string(i)] = "LABEL_" + std::to_string(i);
      label2id["LABEL_" + std::to_string(i)] = i;
    }
    j["id2label"] = id2label;
    j["label2id"] = label2id;
  }
  j["torch_dtype"] = "float32";
  return j.dump(2) + "\n";
}

std::string DetectArchitecture(const std::string& path) {
  const nlohmann::json j = ParseConfig(ReadFile(path), path);
  const std::string type = j.value("model_type", std::string());
  if (type == "qwen2") return "qwen2";
  if (type == "bert") return "bert";
  PRLM_THROW("config '" << path << "': model_type '" << type
                        << "' is not supported (expected qwen2 or bert)");
}

}  // namespace prlm::model
