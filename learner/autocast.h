// Mixed precision for training: within an AutocastGuard, matrix products
// (linear, matmul, bmm, ...) run in `dtype` on copies of their fp32 inputs
// and weights, while the weights themselves, their gradients, the optimizer
// state and every other op stay fp32 (torch's autocast; its op lists decide
// which ops are lowered). The learner's forward passes run inside one when
// model.dtype is bf16; the backward pass runs after it, as torch advises.
//
// With dtype fp32 the guard does nothing. Leaving the outermost guard drops
// autocast's cache of lowered weights, so an optimizer step is always seen by
// the next forward pass.
// Thread-safety: autocast state is per thread; a guard belongs to the thread
// that made it.
#pragma once

#include <torch/types.h>

namespace prlm::learner {

class AutocastGuard {
 public:
  AutocastGuard(torch::Device device, torch::ScalarType dtype);
  ~AutocastGuard();
  AutocastGuard(const AutocastGuard&) = delete;
  AutocastGuard& operator=(const AutocastGuard&) = delete;

 private:
  bool active_ = false;
  bool cuda_ = false;
  bool was_enabled_ = false;
  torch::ScalarType was_dtype_ = torch::kFloat;
};

}  // namespace prlm::learner
