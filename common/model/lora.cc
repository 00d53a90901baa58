#include "common/model/lora.h"

#include <nlohmann/json.hpp>

#include <filesystem>
#include <set>

#include "common/model/linear.h"
#include "common/model/weights_io.h"
#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::model {
namespace {

constexpr const char* kPeftPrefix = "base_model.model.";

std::string LastComponent(const std::string& name) {
  const size_t dot = name.rfind('.');
  return dot == std::string::npos ? name : name.substr(dot + 1);
}

template <typename Fn>
void ForEachLinear(torch::nn::Module& model, Fn fn) {
  for (auto& item : model.named_modules("", /*include_self=*/false))
    if (auto* lin = dynamic_cast<LinearImpl*>(item.value().get())) fn(item.key(), *lin);
}

}  // namespace

bool IsLoraParameter(const std::string& name) {
  return name.find(".lora_A.") != std::string::npos || name.find(".lora_B.") != std::string::npos;
}

int ApplyLora(torch::nn::Module& model, const LoraOptions& o) {
  PRLM_REQUIRE(o.rank > 0, "lora: rank must be positive, got " << o.rank);
  PRLM_REQUIRE(o.dropout >= 0 && o.dropout < 1, "lora: dropout must be in [0, 1), got " << o.dropout);
  const bool all = std::find(o.target_modules.begin(), o.target_modules.end(), "all-linear") != o.target_modules.end();
  std::set<std::string> matched;
  int count = 0;
  ForEachLinear(model, [&](const std::string& name, LinearImpl& lin) {
    const std::string last = LastComponent(name);
    const bool hit = all ? last != "lm_head" && last != "classifier"
                         : std::find(o.target_modules.begin(), o.target_modules.end(), last) != o.target_modules.end();
    if (!hit) return;
    lin.AddLora(o.rank, o.alpha, o.dropout);
    matched.insert(last);
    ++count;
  });
  for (const auto& t : o.target_modules)
    PRLM_REQUIRE(t == "all-linear" || matched.count(t),
                 "lora: target module '" << t << "' matches no linear layer of the model");
  // Only adapters train: the whole base model (embeddings, norms, head) is frozen.
  for (auto& p : model.named_parameters(true))
    if (!IsLoraParameter(p.key())) p.value().set_requires_grad(false);
  return count;
}

void MergeLora(torch::nn::Module& model) {
  ForEachLinear(model, [](const std::string&, LinearImpl& l) {
    if (l.has_lora() && !l.merged()) l.Merge();
  });
}

void UnmergeLora(torch::nn::Module& model) {
  ForEachLinear(model, [](const std::string&, LinearImpl& l) {
    if (l.has_lora() && l.merged()) l.Unmerge();
  });
}

void SetLoraEnabled(torch::nn::Module& model, bool enabled) {
  ForEachLinear(model, [&](const std::string&, LinearImpl& l) { l.set_lora_enabled(enabled); });
}

void SaveLoraAdapter(const torch::nn::Module& model, const LoraOptions& o, const std::string& dir,
                     const std::string& base_model) {
  std::filesystem::create_directories(dir);
  SaveParameters(model, dir + "/adapter_model.safetensors", IsLoraParameter,
                 [](const std::string& n) { return kPeftPrefix + n; });
  nlohmann::ordered_json cfg;
  cfg["peft_type"] = "LORA";
  cfg["task_type"] = "CAUSAL_LM";
  cfg["base_model_name_or_path"] = base_model;
  cfg["r"] = o.rank;
  cfg["lora_alpha"] = o.alpha;
  cfg["lora_dropout"] = o.dropout;
  cfg["bias"] = "none";
  cfg["fan_in_fan_out"] = false;
  cfg["inference_mode"] = true;
  if (o.target_modules.size() == 1 && o.target_modules[0] == "all-linear")
    cfg["target_modules"] = "all-linear";
  else
    cfg["target_modules"] = o.target_modules;
  util::WriteFileAtomic(dir + "/adapter_config.json", cfg.dump(2) + "\n");
}

void LoadLoraWeights(torch::nn::Module& model, const std::string& dir) {
  SafetensorsFile file(dir + "/adapter_model.safetensors");
  LoadParameters(
      model, {&file}, kPeftPrefix, "", [](const std::string& n) { return !IsLoraParameter(n); },
      "the model's adapters (" + dir + "/adapter_config.json)");
}

LoraOptions LoadLoraAdapter(torch::nn::Module& model, const std::string& dir) {
  const std::string cfg_path = dir + "/adapter_config.json";
  nlohmann::json cfg;
  try {
    cfg = nlohmann::json::parse(util::ReadFile(cfg_path));
    LoraOptions o;
    o.rank = cfg.at("r").get<int64_t>();
    o.alpha = cfg.at("lora_alpha").get<double>();
    o.dropout = cfg.value("lora_dropout", 0.0);
    const auto& t = cfg.at("target_modules");
    o.target_modules =
        t.is_string() ? std::vector<std::string>{t.get<std::string>()} : t.get<std::vector<std::string>>();
    ApplyLora(model, o);
    LoadLoraWeights(model, dir);
    return o;
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW("adapter config '" << cfg_path << "' is malformed: " << e.what());
  }
}

LoraOptions LoraOptionsOf(const config::LoraConfig& config) {
  LoraOptions o;
  o.rank = config.rank;
  o.alpha = config.alpha;
  o.dropout = config.dropout;
  return o;
}

std::vector<torch::Tensor> TrainableParameters(torch::nn::Module& model) {
  std::vector<torch::Tensor> out;
  for (auto& p : model.named_parameters(true))
    if (p.value().requires_grad()) out.push_back(p.value());
  return out;
}

}  // namespace prlm::model
