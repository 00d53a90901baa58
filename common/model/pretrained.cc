#include "common/model/pretrained.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <memory>
#include <set>

#include "common/model/lora.h"
#include "common/model/weights_io.h"
#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::model {
namespace fs = std::filesystem;

namespace {

// Opens model.safetensors, or every shard listed in model.safetensors.index.json.
std::vector<std::unique_ptr<SafetensorsFile>> OpenCheckpoint(const std::string& dir) {
  std::vector<std::unique_ptr<SafetensorsFile>> files;
  const std::string single = dir + "/model.safetensors";
  const std::string index = dir + "/model.safetensors.index.json";
  if (fs::exists(single)) {
    files.push_back(std::make_unique<SafetensorsFile>(single));
  } else if (fs::exists(index)) {
    std::set<std::string> shards;
    try {
      const auto j = nlohmann::json::parse(util::ReadFile(index));
      for (const auto& [name, file] : j.at("weight_map").items()) shards.insert(file.get<std::string>());
    } catch (const nlohmann::json::exception& e) {
      PRLM_THROW("checkpoint index '" << index << "' is malformed: " << e.what());
    }
    for (const auto& s : shards) files.push_back(std::make_unique<SafetensorsFile>(dir + "/" + s));
  } else {
    PRLM_THROW("model directory '" << dir
                                   << "' has neither model.safetensors nor "
                                      "model.safetensors.index.json");
  }
  return files;
}

std::vector<const SafetensorsFile*> Pointers(const std::vector<std::unique_ptr<SafetensorsFile>>& v) {
  std::vector<const SafetensorsFile*> out;
  for (const auto& f : v) out.push_back(f.get());
  return out;
}

}  // namespace

CausalLM LoadCausalLM(const std::string& dir, torch::Device device, torch::ScalarType dtype) {
  DecoderConfig cfg = DecoderConfig::Load(dir + "/config.json");
  // generate() stops at generation_config.json's EOS ids too (Qwen2.5's
  // instruct models list <|endoftext|> there and only <|im_end|> in config.json).
  for (int64_t id : GenerationConfig::LoadFromDir(dir).eos_token_ids)
    if (std::find(cfg.eos_token_ids.begin(), cfg.eos_token_ids.end(), id) == cfg.eos_token_ids.end())
      cfg.eos_token_ids.push_back(id);
  CausalLM model(cfg);
  const auto files = OpenCheckpoint(dir);
  LoadParameters(*model, Pointers(files), "", "", IsLoraParameter,
                 "config.json: " + std::to_string(cfg.num_hidden_layers) + " layers, " +
                     (cfg.tie_word_embeddings ? "tied" : "untied") + " embeddings");
  model->to(device, dtype);
  model->eval();
  return model;
}

void SaveCausalLM(CausalLM& model, const std::string& dir) {
  fs::create_directories(dir);
  util::WriteFileAtomic(dir + "/config.json", model->config().ToJson());
  SaveParameters(
      *model, dir + "/model.safetensors", [](const std::string& n) { return !IsLoraParameter(n); }, nullptr);
}

namespace {

BertEncoder LoadBertWith(const std::string& dir, const BertConfig& cfg, torch::Device device) {
  BertEncoder model(cfg);
  const auto files = OpenCheckpoint(dir);
  // The encoder's tensors may or may not carry "bert." (BertModel vs heads).
  LoadParameters(model->encoder_module(), Pointers(files), "", "bert.", IsLoraParameter,
                 "config.json: " + std::to_string(cfg.num_hidden_layers) + " layers");
  if (model->has_classifier()) {
    auto* head = model->named_children()["classifier"].get();
    LoadParameters(*head, Pointers(files), "classifier.", "classifier.", IsLoraParameter,
                   "config.json: num_labels=" + std::to_string(cfg.num_labels));
  }
  model->to(device);
  model->eval();
  return model;
}

}  // namespace

BertEncoder LoadBert(const std::string& dir, torch::Device device) {
  return LoadBertWith(dir, BertConfig::Load(dir + "/config.json"), device);
}

BertEncoder LoadBertClassifier(const std::string& dir, int64_t num_labels, uint64_t seed, bool* new_head,
                               torch::Device device) {
  BertConfig cfg = BertConfig::Load(dir + "/config.json");
  PRLM_REQUIRE(cfg.num_labels == 0 || cfg.num_labels == num_labels,
               dir << "/config.json: a classifier with " << cfg.num_labels << " labels, expected " << num_labels);
  if (new_head) *new_head = cfg.num_labels == 0;
  if (cfg.num_labels == num_labels) return LoadBertWith(dir, cfg, device);
  // 1. The encoder alone, from the checkpoint.
  BertEncoder encoder = LoadBertWith(dir, cfg, torch::kCPU);
  // 2. A classifier model around it: copy the encoder's tensors, draw the head.
  cfg.num_labels = num_labels;
  BertEncoder model(cfg);
  InitializeWeights(*model, cfg.initializer_range, seed);
  {
    torch::NoGradGuard no_grad;
    auto source = encoder->named_parameters();
    for (auto& p : model->encoder_module().named_parameters()) p.value().copy_(source[p.key()]);
  }
  model->to(device);
  model->eval();
  return model;
}

void SaveBert(BertEncoder& model, const std::string& dir) {
  fs::create_directories(dir);
  util::WriteFileAtomic(dir + "/config.json", model->config().ToJson());
  SaveParameters(
      *model, dir + "/model.safetensors", [](const std::string& n) { return !IsLoraParameter(n); }, nullptr);
}

DecoderConfig DecoderPreset(const std::string& name, int64_t vocab_size) {
  DecoderConfig c;
  c.vocab_size = vocab_size;
  c.max_position_embeddings = 4096;
  c.rope_theta = 10000.0;
  c.tie_word_embeddings = true;
  if (name == "tiny") {
    c.hidden_size = 128, c.intermediate_size = 512, c.num_hidden_layers = 6;
    c.num_attention_heads = 4, c.num_key_value_heads = 2;
  } else if (name == "small") {
    c.hidden_size = 384, c.intermediate_size = 1536, c.num_hidden_layers = 10;
    c.num_attention_heads = 6, c.num_key_value_heads = 2;
  } else {
    PRLM_THROW("unknown qwen2 preset '" << name << "' (presets: tiny, small)");
  }
  return c;
}

BertConfig BertPreset(const std::string& name, int64_t vocab_size) {
  BertConfig c;
  c.vocab_size = vocab_size;
  if (name == "tiny") {
    c.hidden_size = 192, c.intermediate_size = 768, c.num_hidden_layers = 4;
    c.num_attention_heads = 4;
  } else if (name == "small") {
    c.hidden_size = 512, c.intermediate_size = 2048, c.num_hidden_layers = 8;
    c.num_attention_heads = 8;
  } else {
    PRLM_THROW("unknown bert preset '" << name << "' (presets: tiny, small)");
  }
  return c;
}

void InitializeWeights(torch::nn::Module& model, double std, uint64_t seed) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(seed);
  for (auto& item : model.named_parameters(true)) {
    const std::string& n = item.key();
    auto& p = item.value();
    const bool is_norm = n.find("norm") != std::string::npos || n.find("LayerNorm") != std::string::npos;
    if (IsLoraParameter(n)) continue;
    if (is_norm && n.size() >= 6 && n.compare(n.size() - 6, 6, "weight") == 0)
      p.fill_(1.0);
    else if (n.size() >= 4 && n.compare(n.size() - 4, 4, "bias") == 0)
      p.zero_();
    else
      p.normal_(0.0, std);
  }
}

int64_t CountParameters(const torch::nn::Module& model) {
  int64_t n = 0;
  for (const auto& p : model.parameters()) n += p.numel();
  return n;
}

}  // namespace prlm::model
