// Models in Hugging Face directory layout: config.json, model.safetensors
// (or model.safetensors.index.json + shards), tokenizer.json.
//
// Load*() builds the module from config.json and fills every parameter from
// the checkpoint (errors name the file, tensor and problem). A decoder's EOS
// ids are config.json's and then generation_config.json's (the ids
// transformers' generate() stops at). Save*() writes
// config.json and model.safetensors atomically; LoRA adapters are not part of
// the base checkpoint (merge first to export them, or use SaveLoraAdapter).
// Presets and random initialisation serve `prlm init-model`, the demo and tests.
// Thread-safety: plain functions; the returned modules follow torch's rules.
#pragma once

#include <cstdint>
#include <string>

#include "common/model/bert.h"
#include "common/model/causal_lm.h"

namespace prlm::model {

CausalLM LoadCausalLM(const std::string& dir, torch::Device device = torch::kCPU,
                      torch::ScalarType dtype = torch::kFloat);
void SaveCausalLM(CausalLM& model, const std::string& dir);

BertEncoder LoadBert(const std::string& dir, torch::Device device = torch::kCPU);
// A sequence classifier with `num_labels` outputs (the reward model uses 1).
// A checkpoint without a classifier (a plain BertModel such as
// bert-base-uncased) gets a new head initialised as transformers does,
// N(0, initializer_range) weights and zero bias, from `seed`; *new_head tells.
// A checkpoint whose classifier has another label count is refused.
BertEncoder LoadBertClassifier(const std::string& dir, int64_t num_labels, uint64_t seed, bool* new_head = nullptr,
                               torch::Device device = torch::kCPU);
void SaveBert(BertEncoder& model, const std::string& dir);

// Preset shapes by name, "tiny" and "small". With the built-in tokenizers:
// decoder tiny 1.7M and small 22.4M parameters; BERT tiny 2.6M and small 27.6M.
// Throws util::Error listing the presets otherwise.
DecoderConfig DecoderPreset(const std::string& name, int64_t vocab_size);
BertConfig BertPreset(const std::string& name, int64_t vocab_size);

// Hugging Face's initialisation: N(0, std) for linear and embedding weights,
// zero biases, unit norm weights. Deterministic for a given seed.
void InitializeWeights(torch::nn::Module& model, double std, uint64_t seed);

int64_t CountParameters(const torch::nn::Module& model);

}  // namespace prlm::model
