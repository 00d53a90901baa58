#include "retrieval_shards/dense_encoder.h"

#include <torch/torch.h>

#include <mutex>

#include "common/model/bert.h"
#include "common/model/pretrained.h"
#include "common/text/tokenizer.h"
#include "common/util/check.h"

namespace prlm::retrieval {

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
    size_t longest = 0;
    for (size_t i = start; i < end; ++i) {
      auto e = impl_->tokenizer->Encode(texts[i], /*add_special_tokens=*/true);
      if (e.size() > max_len) {  // keep the final [SEP]
        const int32_t last = e.back();
        e.resize(max_len);
        e.back() = last;
      }
      longest = std::max(longest, e.size());
      ids.push_back(std::move(e));
    }
    const int64_t b = static_cast<int64_t>(ids.size()), t = static_cast<int64_t>(longest);
    auto id_t = torch::zeros({b, t}, torch::kLong), mask = torch::zeros({b, t}, torch::kLong);
    auto ida = id_t.accessor<int64_t, 2>(), ma = mask.accessor<int64_t, 2>();
    for (int64_t i = 0; i < b; ++i)
      for (size_t j = 0; j < ids[i].size(); ++j) ida[i][j] = ids[i][j], ma[i][j] = 1;
    auto hidden = impl_->encoder->Forward(id_t, torch::zeros_like(id_t), mask);
    auto pooled = impl_->encoder->Pool(hidden, mask, impl_->pooling).to(torch::kFloat);
    pooled = torch::nn::functional::normalize(pooled, torch::nn::functional::NormalizeFuncOptions().dim(1));
    pooled = pooled.contiguous();
    std::memcpy(out.data() + start * dim, pooled.data_ptr<float>(), sizeof(float) * b * dim);
  }
  return out;
}

}  // namespace prlm::retrieval
