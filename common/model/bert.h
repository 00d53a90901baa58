// BERT-architecture encoder (bert-base-uncased, bge-base-en-v1.5, ...): word +
// position + token-type embeddings → LayerNorm, N post-LN layers [self-attention
// → dense → residual → LayerNorm → GELU MLP → residual → LayerNorm], and the
// tanh pooler over [CLS]. The PrLM reward model and the dense retriever both
// use it. Names are Hugging Face's (embeddings.word_embeddings.weight,
// encoder.layer.N.attention.self.query.weight, pooler.dense.weight, ...); an
// optional classifier head ("classifier.weight") makes it
// BertForSequenceClassification, whose encoder tensors carry a "bert." prefix.
// Dropout (config's hidden/attention/classifier probabilities) is active only
// in training mode, as in transformers; eval() turns it off.
// Thread-safety: one Forward at a time.
#pragma once

#include <torch/torch.h>

#include "common/model/linear.h"
#include "common/model/model_config.h"

namespace prlm::model {

enum class Pooling { kCls, kMean, kPooler };

class BertLayerImpl : public torch::nn::Module {
 public:
  explicit BertLayerImpl(const BertConfig& c);
  torch::Tensor forward(const torch::Tensor& x, const torch::Tensor& bias);

 private:
  Linear query_{nullptr}, key_{nullptr}, value_{nullptr}, attn_out_{nullptr};
  Linear intermediate_{nullptr}, output_{nullptr};
  torch::nn::LayerNorm attn_norm_{nullptr}, out_norm_{nullptr};
  int64_t heads_, head_dim_;
  double hidden_dropout_, attention_dropout_;
};
TORCH_MODULE(BertLayer);

class BertEncoderImpl : public torch::nn::Module {
 public:
  explicit BertEncoderImpl(const BertConfig& c);

  // Last hidden states [B, T, H]. ids, type_ids: int64 [B, T]; mask [B, T]
  // with 1 for real tokens (right padding).
  torch::Tensor Forward(const torch::Tensor& ids, const torch::Tensor& type_ids, const torch::Tensor& mask);
  // [B, H]: [CLS] state, masked mean of states, or the tanh pooler.
  torch::Tensor Pool(const torch::Tensor& hidden, const torch::Tensor& mask, Pooling how);
  // Classifier logits [B, num_labels] from the pooler. REQUIRES: num_labels > 0.
  torch::Tensor Classify(const torch::Tensor& ids, const torch::Tensor& type_ids, const torch::Tensor& mask);

  const BertConfig& config() const { return config_; }
  bool has_classifier() const { return !classifier_.is_empty(); }
  // The encoder tensors alone (names without "bert.").
  torch::nn::Module& encoder_module() { return *encoder_root_; }

 private:
  BertConfig config_;
  torch::nn::Module* encoder_root_;  // this, or the "bert" child with a classifier
  torch::nn::Embedding word_{nullptr}, position_{nullptr}, token_type_{nullptr};
  torch::nn::LayerNorm emb_norm_{nullptr};
  torch::nn::ModuleList layers_{nullptr};
  Linear pooler_{nullptr};
  Linear classifier_{nullptr};
  double hidden_dropout_, classifier_dropout_;
};
TORCH_MODULE(BertEncoder);

}  // namespace prlm::model
