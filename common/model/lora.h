// LoRA on a model's Linear layers (PEFT-compatible): which layers get
// adapters, merging, and saving / loading the adapters on their own as
// adapter_config.json + adapter_model.safetensors with PEFT's tensor names
// ("base_model.model.<module>.lora_A.weight").
// Thread-safety: mutates the model; not safe while it runs.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/config/train_config.h"

namespace prlm::model {

struct LoraOptions {
  int64_t rank = 16;
  double alpha = 16;
  double dropout = 0.1;
  // Last name component of each target Linear ("q_proj", ...), or "all-linear"
  // for every Linear except the LM head (PEFT's meaning).
  std::vector<std::string> target_modules = {"all-linear"};
};

// The adapters the config's lora section asks for (on every Linear but the head).
LoraOptions LoraOptionsOf(const config::LoraConfig& config);

// Adds adapters; returns how many layers got one. Throws util::Error if a
// target name matches no layer.
int ApplyLora(torch::nn::Module& model, const LoraOptions& options);
void MergeLora(torch::nn::Module& model);
void UnmergeLora(torch::nn::Module& model);
// Reference policy = adapters disabled (no second copy of the weights).
void SetLoraEnabled(torch::nn::Module& model, bool enabled);
bool IsLoraParameter(const std::string& name);
// The tensors that change in training, in the module's fixed parameter order
// (what weight sync sends): every parameter, or only the adapters once LoRA
// has frozen the rest.
std::vector<torch::Tensor> TrainableParameters(torch::nn::Module& model);

void SaveLoraAdapter(const torch::nn::Module& model, const LoraOptions& options, const std::string& dir,
                     const std::string& base_model = "");
// Reads adapter_config.json, applies LoRA with its options, loads the weights.
LoraOptions LoadLoraAdapter(torch::nn::Module& model, const std::string& dir);
// Loads adapter_model.safetensors into adapters already applied alike.
void LoadLoraWeights(torch::nn::Module& model, const std::string& dir);

}  // namespace prlm::model
