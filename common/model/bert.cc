#include "common/model/bert.h"

#include <cmath>

#include "common/model/accurate_matmul.h"
#include "common/model/causal_lm.h"  // kMaskedScore
#include "common/util/check.h"

namespace prlm::model {
namespace {

// A named empty module, to reproduce Hugging Face's nesting of names.
std::shared_ptr<torch::nn::Module> Child(torch::nn::Module& parent, const std::string& name) {
  return parent.register_module(name, std::make_shared<torch::nn::Module>());
}

torch::nn::LayerNorm MakeNorm(int64_t dim, double eps) {
  return torch::nn::LayerNorm(torch::nn::LayerNormOptions({dim}).eps(eps));
}

}  // namespace

BertLayerImpl::BertLayerImpl(const BertConfig& c)
    : heads_(c.num_attention_heads),
      head_dim_(c.hidden_size / c.num_attention_heads),
      hidden_dropout_(c.hidden_dropout_prob),
      attention_dropout_(c.attention_probs_dropout_prob) {
  const int64_t H = c.hidden_size;
  auto attention = Child(*this, "attention");
  auto self = Child(*attention, "self");
  query_ = self->register_module("query", Linear(H, H, true));
  key_ = self->register_module("key", Linear(H, H, true));
  value_ = self->register_module("value", Linear(H, H, true));
  auto attn_output = Child(*attention, "output");
  attn_out_ = attn_output->register_module("dense", Linear(H, H, true));
  attn_norm_ = attn_output->register_module("LayerNorm", MakeNorm(H, c.layer_norm_eps));
  intermediate_ = Child(*this, "intermediate")->register_module("dense", Linear(H, c.intermediate_size, true));
  auto output = Child(*this, "output");
  output_ = output->register_module("dense", Linear(c.intermediate_size, H, true));
  out_norm_ = output->register_module("LayerNorm", MakeNorm(H, c.layer_norm_eps));
}

torch::Tensor BertLayerImpl::forward(const torch::Tensor& x, const torch::Tensor& bias) {
  const int64_t B = x.size(0), T = x.size(1);
  const auto split = [&](const torch::Tensor& t) { return t.view({B, T, heads_, head_dim_}).transpose(1, 2); };
  auto q = split(query_(x)), k = split(key_(x)), v = split(value_(x));
  auto scores = MatmulAccumulatingInFp32(q, k.transpose(-1, -2)) * (1.0 / std::sqrt(double(head_dim_))) + bias;
  const bool train = is_training();
  auto probs = torch::dropout(torch::softmax(scores, -1), attention_dropout_, train);
  auto ctx = MatmulAccumulatingInFp32(probs, v).transpose(1, 2).reshape({B, T, -1});
  auto h = attn_norm_(torch::dropout(attn_out_(ctx), hidden_dropout_, train) + x);
  auto ff = torch::dropout(output_(torch::gelu(intermediate_(h))), hidden_dropout_, train);
  return out_norm_(ff + h);
}

BertEncoderImpl::BertEncoderImpl(const BertConfig& c)
    : config_(c),
      hidden_dropout_(c.hidden_dropout_prob),
      classifier_dropout_(c.classifier_dropout >= 0 ? c.classifier_dropout : c.hidden_dropout_prob) {
  torch::nn::Module* root = c.num_labels > 0 ? Child(*this, "bert").get() : this;
  encoder_root_ = root;
  auto emb = Child(*root, "embeddings");
  word_ = emb->register_module("word_embeddings", torch::nn::Embedding(c.vocab_size, c.hidden_size));
  position_ =
      emb->register_module("position_embeddings", torch::nn::Embedding(c.max_position_embeddings, c.hidden_size));
  token_type_ = emb->register_module("token_type_embeddings", torch::nn::Embedding(c.type_vocab_size, c.hidden_size));
  emb_norm_ = emb->register_module("LayerNorm", MakeNorm(c.hidden_size, c.layer_norm_eps));
  layers_ = Child(*root, "encoder")->register_module("layer", torch::nn::ModuleList());
  for (int64_t i = 0; i < c.num_hidden_layers; ++i) layers_->push_back(BertLayer(c));
  pooler_ = Child(*root, "pooler")->register_module("dense", Linear(c.hidden_size, c.hidden_size, true));
  if (c.num_labels > 0) classifier_ = register_module("classifier", Linear(c.hidden_size, c.num_labels, true));
}

torch::Tensor BertEncoderImpl::Forward(const torch::Tensor& ids, const torch::Tensor& type_ids,
                                       const torch::Tensor& mask) {
  const int64_t T = ids.size(1);
  PRLM_REQUIRE(T <= config_.max_position_embeddings,
               "BERT input of " << T << " tokens exceeds max_position_embeddings " << config_.max_position_embeddings);
  const auto pos = torch::arange(T, ids.options()).unsqueeze(0);
  auto h =
      torch::dropout(emb_norm_(word_(ids) + position_(pos) + token_type_(type_ids)), hidden_dropout_, is_training());
  const auto bias = torch::zeros({ids.size(0), 1, 1, T}, h.options())
                        .masked_fill_(mask.to(torch::kBool).logical_not().view({ids.size(0), 1, 1, T}), kMaskedScore);
  for (const auto& layer : *layers_) h = layer->as<BertLayerImpl>()->forward(h, bias);
  return h;
}

torch::Tensor BertEncoderImpl::Pool(const torch::Tensor& hidden, const torch::Tensor& mask, Pooling how) {
  switch (how) {
    case Pooling::kCls:
      return hidden.select(1, 0);
    case Pooling::kPooler:
      return torch::tanh(pooler_(hidden.select(1, 0)));
    case Pooling::kMean: {
      const auto m = mask.to(hidden.scalar_type()).unsqueeze(-1);
      return (hidden * m).sum(1) / m.sum(1).clamp_min(1e-9);
    }
  }
  return {};
}

torch::Tensor BertEncoderImpl::Classify(const torch::Tensor& ids, const torch::Tensor& type_ids,
                                        const torch::Tensor& mask) {
  PRLM_CHECK(classifier_);
  const auto pooled = Pool(Forward(ids, type_ids, mask), mask, Pooling::kPooler);
  return classifier_(torch::dropout(pooled, classifier_dropout_, is_training()));
}

}  // namespace prlm::model
