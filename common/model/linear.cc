#include "common/model/linear.h"

#include "common/util/check.h"

namespace prlm::model {

LinearImpl::LinearImpl(int64_t in, int64_t out, bool with_bias) : in_features(in), out_features(out) {
  weight = register_parameter("weight", torch::empty({out, in}));
  if (with_bias) bias = register_parameter("bias", torch::zeros({out}));
  torch::nn::init::normal_(weight, 0.0, 0.02);
}

torch::Tensor LinearImpl::forward(const torch::Tensor& x) {
  torch::Tensor y = torch::nn::functional::linear(x, weight, bias);
  if (lora_a_ && !merged_ && lora_enabled_) y = y + lora_b_(lora_a_(lora_dropout_(x))) * scaling_;
  return y;
}

void LinearImpl::AddLora(int64_t rank, double alpha, double dropout) {
  PRLM_CHECK(!lora_a_ && rank > 0);
  lora_a_ = register_module("lora_A", torch::nn::Linear(torch::nn::LinearOptions(in_features, rank).bias(false)));
  lora_b_ = register_module("lora_B", torch::nn::Linear(torch::nn::LinearOptions(rank, out_features).bias(false)));
  lora_dropout_ = register_module("lora_dropout", torch::nn::Dropout(dropout));
  {
    torch::NoGradGuard no_grad;
    torch::nn::init::kaiming_uniform_(lora_a_->weight, std::sqrt(5.0));
    lora_b_->weight.zero_();
    lora_a_->weight.set_data(lora_a_->weight.to(weight.options()));
    lora_b_->weight.set_data(lora_b_->weight.to(weight.options()));
  }
  // New submodules start in training mode; follow the layer's mode.
  lora_a_->train(is_training());
  lora_b_->train(is_training());
  lora_dropout_->train(is_training());
  scaling_ = alpha / static_cast<double>(rank);
  weight.set_requires_grad(false);
  if (bias.defined()) bias.set_requires_grad(false);
}

torch::Tensor LinearImpl::LoraDelta() const { return torch::matmul(lora_b_->weight, lora_a_->weight) * scaling_; }

void LinearImpl::Merge() {
  PRLM_CHECK(lora_a_ && !merged_);
  torch::NoGradGuard no_grad;
  weight.add_(LoraDelta());
  merged_ = true;
}

void LinearImpl::Unmerge() {
  PRLM_CHECK(lora_a_ && merged_);
  torch::NoGradGuard no_grad;
  weight.sub_(LoraDelta());
  merged_ = false;
}

}  // namespace prlm::model
