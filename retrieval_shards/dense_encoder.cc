#include "retrieval_shards/dense_encoder.h"

#include <torch/torch.h>

#include <mutex>

#include "common/model/bert.h"
#include "common/model/pretrained.h"
#include "common/text/tokenizer.h"
#include "common/util/check.h"
#include "retrieval_shards/dense_embedding.h"

namespace prlm::retrieval_shards {

struct DenseEncoder::Impl {
  DenseEncoderOptions options;
  model::BertEncoder encoder{nullptr};
  std::shared_ptr<const text::Tokenizer> tokenizer;
  model::Pooling pooling = model::Pooling::kMean;
  mutable std::mutex mu;
};

DenseEncoder::DenseEncoder(DenseEncoderOptions options) : impl_(std::make_unique<Impl>()) {
  PRLM_REQUIRE(options.pooling == "mean" || options.pooling == "cls",
               "dense encoder pooling must be 'mean' or 'cls', not '" << options.pooling << "'");
  PRLM_REQUIRE(options.max_length >= 2 && options.batch_size >= 1, "dense encoder: bad max_length / batch_size");
  impl_->options = options;
  impl_->pooling = options.pooling == "cls" ? model::Pooling::kCls : model::Pooling::kMean;
  impl_->encoder = model::LoadBert(options.model_dir);
  impl_->encoder->eval();
  impl_->tokenizer = text::Tokenizer::FromFile(options.model_dir + "/tokenizer.json");
  const int positions = impl_->encoder->config().max_position_embeddings;
  impl_->options.max_length = std::min(impl_->options.max_length, positions);
}

DenseEncoder::~DenseEncoder() = default;

int DenseEncoder::dim() const { return impl_->encoder->config().hidden_size; }
const DenseEncoderOptions& DenseEncoder::options() const { return impl_->options; }

std::vector<float> DenseEncoder::Embed(const std::vector<std::string>& texts) const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  torch::NoGradGuard no_grad;
  const int dim = this->dim();
  const size_t max_len = static_cast<size_t>(impl_->options.max_length);
  std::vector<float> out(texts.size() * dim);
  for (size_t start = 0; start < texts.size(); start += impl_->options.batch_size) {
    const size_t end = std::min(texts.size(), start + impl_->options.batch_size);
    std::vector<std::vector<int32_t>> ids;
    for (size_t i = start; i < end; ++i) ids.push_back(EmbeddingIds(*impl_->tokenizer, texts[i], max_len));
    std::vector<const std::vector<int32_t>*> batch;
    for (const auto& e : ids) batch.push_back(&e);
    const auto pooled = EmbedIds(impl_->encoder, batch, impl_->pooling).contiguous();
    std::memcpy(out.data() + start * dim, pooled.data_ptr<float>(), sizeof(float) * (end - start) * dim);
  }
  return out;
}

}  // namespace prlm::retrieval_shards
