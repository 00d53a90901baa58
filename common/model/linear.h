// A linear layer y = x Wᵀ + b with an optional LoRA adapter
// y += dropout(x) Aᵀ Bᵀ · (alpha / r), used by every projection in the decoder
// and BERT models. Parameter names follow Hugging Face / PEFT: "weight",
// "bias", "lora_A.weight" [r, in], "lora_B.weight" [out, r].
//
// With an adapter the base weight is frozen. Merge() folds the adapter into the
// weight (forward then skips it); Unmerge() takes it out again.
// Thread-safety: like any torch module, not safe to mutate while in use.
#pragma once

#include <torch/torch.h>

namespace prlm::model {

class LinearImpl : public torch::nn::Module {
 public:
  LinearImpl(int64_t in_features, int64_t out_features, bool bias);
  torch::Tensor forward(const torch::Tensor& x);

  // REQUIRES: no adapter yet; rank > 0. B starts at zero (PEFT's init), so the
  // model's output is unchanged until training moves it.
  void AddLora(int64_t rank, double alpha, double dropout);
  bool has_lora() const { return !lora_a_.is_empty(); }
  bool merged() const { return merged_; }
  void Merge();
  void Unmerge();
  // Reference-policy forward: the adapter is skipped while disabled.
  void set_lora_enabled(bool enabled) { lora_enabled_ = enabled; }
  // Whether forward() adds the adapter (present, not merged, enabled).
  bool lora_active() const { return has_lora() && !merged_ && lora_enabled_; }

  torch::Tensor weight, bias;
  int64_t in_features, out_features;

 private:
  torch::Tensor LoraDelta() const;  // (alpha/r) · B A, shape of weight
  torch::nn::Linear lora_a_{nullptr}, lora_b_{nullptr};
  torch::nn::Dropout lora_dropout_{nullptr};
  double scaling_ = 1.0;
  bool merged_ = false, lora_enabled_ = true;
};
TORCH_MODULE(Linear);

}  // namespace prlm::model
