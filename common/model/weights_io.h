// Moves module parameters to and from safetensors files by Hugging Face name.
//
// LoadParameters checks every parameter the module expects (missing tensor,
// wrong shape -> util::Error naming file, tensor, expected and found shape) and
// converts F32/F16/BF16/F64 to the parameter's dtype. SaveParameters writes
// named parameters (optionally filtered and renamed) atomically.
// Thread-safety: not safe while the module is being used elsewhere.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <optional>
#include <string>

#include "common/model/safetensors.h"

namespace prlm::model {

// A copy of one stored tensor as a CPU torch tensor of its stored dtype.
torch::Tensor ReadTensor(const SafetensorsFile& file, const TensorInfo& info);

// For each parameter `name` of `module` (skipping those for which `skip`
// returns true) loads tensor `file_prefix + name`, or `alt_prefix + name`.
// Returns the number of tensors loaded. `context` (e.g. "config.json says 4
// layers") is appended to missing-tensor errors.
// `files` are the shards of one checkpoint (one file for most models).
int64_t LoadParameters(torch::nn::Module& module, const std::vector<const SafetensorsFile*>& files,
                       const std::string& file_prefix, const std::string& alt_prefix,
                       const std::function<bool(const std::string&)>& skip, const std::string& context);

// Writes parameters for which `keep` is true, renamed by `rename`, as `dtype`.
void SaveParameters(const torch::nn::Module& module, const std::string& path,
                    const std::function<bool(const std::string&)>& keep,
                    const std::function<std::string(const std::string&)>& rename,
                    torch::ScalarType dtype = torch::kFloat);

}  // namespace prlm::model
