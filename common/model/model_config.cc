#include "common/model/model_config.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>

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
int64_t Int(const nlohmann::json& j, const std::string& source, const char* key, int64_t dflt, bool required) {
  if (!j.contains(key) || j[key].is_null()) {
    PRLM_REQUIRE(!required, "config '" << source << "': missing required field '" << key << "'");
    return dflt;
  }
  PRLM_REQUIRE(j[key].is_number_integer(),
               "config '" << source << "': field '" << key << "' must be an integer, got " << j[key].dump());
  const int64_t v = j[key].get<int64_t>();
  PRLM_REQUIRE(!required || v > 0, "config '" << source << "': field '" << key << "' must be positive, got " << v);
  return v;
}

double Num(const nlohmann::json& j, const std::string& source, const char* key, double dflt) {
  if (!j.contains(key) || j[key].is_null()) return dflt;
  PRLM_REQUIRE(j[key].is_number(),
               "config '" << source << "': field '" << key << "' must be a number, got " << j[key].dump());
  return j[key].get<double>();
}

bool Bool(const nlohmann::json& j, const std::string& source, const char* key, bool dflt) {
  if (!j.contains(key) || j[key].is_null()) return dflt;
  PRLM_REQUIRE(j[key].is_boolean(),
               "config '" << source << "': field '" << key << "' must be true or false, got " << j[key].dump());
  return j[key].get<bool>();
}

// Where the RoPE parameters are: `rope_scaling` (transformers 4.x, with
// rope_theta beside it), else `rope_parameters` (transformers 5, which also
// holds rope_theta); transformers 5 too prefers rope_scaling when both are
// given. Null when neither is.
const nlohmann::json* RopeObject(const nlohmann::json& j, std::string* key) {
  for (const char* k : {"rope_scaling", "rope_parameters"})
    if (j.contains(k) && !j[k].is_null()) {
      *key = k;
      return &j[k];
    }
  return nullptr;
}

// rope_theta: rope_parameters' own when it has one (transformers 5), else the
// top-level key, else 10000.
double ParseRopeTheta(const nlohmann::json& j, const std::string& src) {
  std::string key;
  const nlohmann::json* s = RopeObject(j, &key);
  if (s && key == "rope_parameters" && s->is_object() && s->contains("rope_theta"))
    return Num(*s, src + " (rope_parameters)", "rope_theta", 10000.0);
  return Num(j, src, "rope_theta", 10000.0);
}

// rope_scaling / rope_parameters (null or absent: default), validated as
// transformers reads it but strictly: a missing required parameter, an
// unknown type, per-layer-type parameters or a partial rotary factor is an
// error.
RopeScaling ParseRopeScaling(const nlohmann::json& j, const std::string& src) {
  RopeScaling r;
  std::string key;
  const nlohmann::json* found = RopeObject(j, &key);
  if (!found) return r;
  const auto& s = *found;
  const std::string where = "config '" + src + "': " + key;
  PRLM_REQUIRE(s.is_object(), where << " must be an object or null, got " << s.dump());
  for (const auto& [name, value] : s.items())
    PRLM_REQUIRE(!value.is_object(),
                 where << " has per-layer-type parameters ('" << name << "'), which prlm's decoders do not support");
  if (s.contains("partial_rotary_factor") && !s["partial_rotary_factor"].is_null())
    PRLM_REQUIRE(Num(s, src + " (" + key + ")", "partial_rotary_factor", 1.0) == 1.0,
                 where << ": partial_rotary_factor other than 1 is not supported");
  const char* type_key = s.contains("rope_type") ? "rope_type" : "type";
  // transformers 5 writes rope_parameters = {"rope_type": "default", "rope_theta": ...}.
  if (key == "rope_parameters" && !s.contains(type_key)) return r;
  PRLM_REQUIRE(s.contains(type_key) && s[type_key].is_string(), where << " needs a string 'rope_type' (or 'type')");
  r.type = s[type_key].get<std::string>();
  PRLM_REQUIRE(
      r.type == "default" || r.type == "linear" || r.type == "dynamic" || r.type == "llama3" || r.type == "yarn",
      where << ": rope_type '" << r.type << "' is not supported (supported: default, linear, dynamic, llama3, yarn)");
  const auto number = [&](const char* name, double dflt, bool required) {
    PRLM_REQUIRE(!required || (s.contains(name) && !s[name].is_null()),
                 where << ": rope_type '" << r.type << "' needs '" << name << "'");
    return Num(s, src + " (" + key + ")", name, dflt);
  };
  if (r.type == "default") return r;
  r.factor = number("factor", 1, true);
  PRLM_REQUIRE(r.factor > 0, where << ": factor must be > 0, got " << r.factor);
  r.original_max_position_embeddings = Int(s, src + " (" + key + ")", "original_max_position_embeddings", 0, false);
  if (r.type == "llama3") {
    number("original_max_position_embeddings", 0, true);
    r.low_freq_factor = number("low_freq_factor", 1, true);
    r.high_freq_factor = number("high_freq_factor", 4, true);
    PRLM_REQUIRE(r.high_freq_factor > r.low_freq_factor && r.low_freq_factor > 0,
                 where << ": llama3 needs 0 < low_freq_factor < high_freq_factor, got " << r.low_freq_factor << " and "
                       << r.high_freq_factor);
    PRLM_REQUIRE(r.original_max_position_embeddings > 0,
                 where << ": original_max_position_embeddings must be positive");
  }
  if (r.type == "yarn") {
    r.beta_fast = number("beta_fast", 32, false);
    r.beta_slow = number("beta_slow", 1, false);
    r.attention_factor = number("attention_factor", 0, false);
    r.mscale = number("mscale", 0, false);
    r.mscale_all_dim = number("mscale_all_dim", 0, false);
    PRLM_REQUIRE(r.beta_fast > 0 && r.beta_slow > 0 && r.attention_factor >= 0,
                 where << ": yarn needs positive beta_fast, beta_slow and a non-negative attention_factor");
  }
  return r;
}

nlohmann::ordered_json RopeScalingJson(const RopeScaling& r) {
  nlohmann::ordered_json s;
  s["rope_type"] = r.type;
  s["factor"] = r.factor;
  if (r.original_max_position_embeddings > 0)
    s["original_max_position_embeddings"] = r.original_max_position_embeddings;
  if (r.type == "llama3") s["low_freq_factor"] = r.low_freq_factor, s["high_freq_factor"] = r.high_freq_factor;
  if (r.type == "yarn") {
    s["beta_fast"] = r.beta_fast, s["beta_slow"] = r.beta_slow;
    if (r.attention_factor > 0) s["attention_factor"] = r.attention_factor;
    if (r.mscale > 0) s["mscale"] = r.mscale;
    if (r.mscale_all_dim > 0) s["mscale_all_dim"] = r.mscale_all_dim;
  }
  return s;
}

// eos_token_id: an integer, a list of integers, or absent / null.
std::vector<int64_t> EosIds(const nlohmann::json& j, const std::string& source) {
  if (!j.contains("eos_token_id") || j["eos_token_id"].is_null()) return {};
  const auto& e = j["eos_token_id"];
  if (e.is_number_integer()) return {e.get<int64_t>()};
  PRLM_REQUIRE(
      e.is_array() && std::all_of(e.begin(), e.end(), [](const auto& x) { return x.is_number_integer(); }),
      "config '" << source << "': field 'eos_token_id' must be an integer or a list of integers, got " << e.dump());
  return e.get<std::vector<int64_t>>();
}

}  // namespace

DecoderConfig DecoderConfig::FromJsonText(const std::string& text, const std::string& src) {
  const nlohmann::json j = ParseConfig(text, src);
  DecoderConfig c;
  c.model_type = j.value("model_type", std::string("qwen2"));
  PRLM_REQUIRE(
      c.model_type == "qwen2" || c.model_type == "qwen3" || c.model_type == "llama",
      "config '" << src << "': model_type '" << c.model_type << "' is not a decoder prlm runs (qwen2, qwen3, llama)");
  c.vocab_size = Int(j, src, "vocab_size", 0, true);
  c.hidden_size = Int(j, src, "hidden_size", 0, true);
  c.intermediate_size = Int(j, src, "intermediate_size", 0, true);
  c.num_hidden_layers = Int(j, src, "num_hidden_layers", 0, true);
  c.num_attention_heads = Int(j, src, "num_attention_heads", 0, true);
  c.num_key_value_heads = Int(j, src, "num_key_value_heads", c.num_attention_heads, false);
  c.max_position_embeddings = Int(j, src, "max_position_embeddings", c.model_type == "llama" ? 2048 : 32768, false);
  c.attention_bias = c.model_type == "qwen2" || Bool(j, src, "attention_bias", false);
  c.mlp_bias = c.model_type == "llama" && Bool(j, src, "mlp_bias", false);
  c.qk_norm = c.model_type == "qwen3";
  c.explicit_head_dim = Int(j, src, "head_dim", c.model_type == "qwen3" ? 128 : 0, false);
  PRLM_REQUIRE(c.explicit_head_dim >= 0, "config '" << src << "': head_dim must be positive");
  c.rms_norm_eps = Num(j, src, "rms_norm_eps", 1e-6);
  c.rope_theta = ParseRopeTheta(j, src);
  c.initializer_range = Num(j, src, "initializer_range", 0.02);
  c.tie_word_embeddings = j.value("tie_word_embeddings", false);
  c.bos_token_id = Int(j, src, "bos_token_id", -1, false);
  c.eos_token_ids = EosIds(j, src);
  c.torch_dtype = j.value("torch_dtype", j.value("dtype", std::string("float32")));  // transformers 5: "dtype"
  const std::string act = j.value("hidden_act", std::string("silu"));
  PRLM_REQUIRE(act == "silu",
               "config '" << src << "': hidden_act '" << act << "' is not supported (qwen2, qwen3 and llama use silu)");
  PRLM_REQUIRE(c.explicit_head_dim > 0 || c.hidden_size % c.num_attention_heads == 0,
               "config '" << src << "': hidden_size " << c.hidden_size << " is not divisible by num_attention_heads "
                          << c.num_attention_heads);
  PRLM_REQUIRE(c.num_key_value_heads > 0 && c.num_attention_heads % c.num_key_value_heads == 0,
               "config '" << src << "': num_attention_heads " << c.num_attention_heads
                          << " is not a multiple of num_key_value_heads " << c.num_key_value_heads);
  PRLM_REQUIRE(c.head_dim() % 2 == 0,
               "config '" << src << "': head dimension " << c.head_dim() << " must be even for rotary embeddings");
  c.rope_scaling = ParseRopeScaling(j, src);
  return c;
}

DecoderConfig DecoderConfig::Load(const std::string& path) { return FromJsonText(util::ReadFile(path), path); }

std::string DecoderConfig::ToJson() const {
  nlohmann::ordered_json j;
  j["architectures"] = {model_type == "qwen3"   ? "Qwen3ForCausalLM"
                        : model_type == "llama" ? "LlamaForCausalLM"
                                                : "CausalLM"};
  j["model_type"] = model_type;
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
  if (rope_scaling.type != "default") j["rope_scaling"] = RopeScalingJson(rope_scaling);
  if (model_type != "qwen2") j["attention_bias"] = attention_bias;
  if (model_type == "llama") j["mlp_bias"] = mlp_bias;
  if (explicit_head_dim > 0) j["head_dim"] = explicit_head_dim;
  j["initializer_range"] = initializer_range;
  j["tie_word_embeddings"] = tie_word_embeddings;
  j["use_sliding_window"] = false;
  j["sliding_window"] = nullptr;
  j["attention_dropout"] = 0.0;
  j["use_cache"] = true;
  if (bos_token_id >= 0) j["bos_token_id"] = bos_token_id;
  if (eos_token_ids.size() == 1)
    j["eos_token_id"] = eos_token_ids[0];
  else if (!eos_token_ids.empty())
    j["eos_token_id"] = eos_token_ids;
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
  PRLM_REQUIRE(c.hidden_act == "gelu",
               "config '" << src << "': hidden_act '" << c.hidden_act << "' is not supported (BERT uses gelu)");
  c.hidden_dropout_prob = Num(j, src, "hidden_dropout_prob", 0.1);
  c.attention_probs_dropout_prob = Num(j, src, "attention_probs_dropout_prob", 0.1);
  if (j.contains("classifier_dropout") && !j["classifier_dropout"].is_null())
    c.classifier_dropout = Num(j, src, "classifier_dropout", -1);
  for (double p : {c.hidden_dropout_prob, c.attention_probs_dropout_prob, c.classifier_dropout})
    PRLM_REQUIRE(p < 1, "config '" << src << "': a dropout probability of " << p << " is not below 1");
  if (j.contains("id2label") && j["id2label"].is_object()) c.num_labels = static_cast<int64_t>(j["id2label"].size());
  c.num_labels = Int(j, src, "num_labels", c.num_labels, false);
  PRLM_REQUIRE(c.hidden_size % c.num_attention_heads == 0, "config '" << src << "': hidden_size " << c.hidden_size
                                                                      << " is not divisible by num_attention_heads "
                                                                      << c.num_attention_heads);
  return c;
}

BertConfig BertConfig::Load(const std::string& path) { return FromJsonText(util::ReadFile(path), path); }

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

GenerationConfig GenerationConfig::LoadFromDir(const std::string& dir) {
  GenerationConfig g;
  const std::string path = dir + "/generation_config.json";
  if (!std::filesystem::exists(path)) return g;
  const nlohmann::json j = ParseConfig(util::ReadFile(path), path);
  g.eos_token_ids = EosIds(j, path);
  if (j.contains("temperature") && !j["temperature"].is_null()) g.temperature = Num(j, path, "temperature", 1);
  if (j.contains("top_p") && !j["top_p"].is_null()) g.top_p = Num(j, path, "top_p", 1);
  if (j.contains("top_k") && !j["top_k"].is_null()) g.top_k = Int(j, path, "top_k", 0, false);
  if (j.contains("do_sample") && !j["do_sample"].is_null()) g.do_sample = Bool(j, path, "do_sample", false);
  return g;
}

std::string DetectArchitecture(const std::string& path) {
  const nlohmann::json j = ParseConfig(util::ReadFile(path), path);
  const std::string type = j.value("model_type", std::string());
  if (type == "qwen2" || type == "qwen3" || type == "llama" || type == "bert") return type;
  PRLM_THROW("config '" << path << "': model_type '" << type
                        << "' is not supported (expected qwen2, qwen3, llama or bert)");
}

}  // namespace prlm::model
