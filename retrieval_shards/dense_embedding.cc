#include "retrieval_shards/dense_embedding.h"

#include <algorithm>

#include "common/util/check.h"

namespace prlm::retrieval_shards {

std::vector<int32_t> EmbeddingIds(const text::Tokenizer& tokenizer, const std::string& text, size_t max_length) {
  PRLM_CHECK(max_length >= 2);
  auto ids = tokenizer.Encode(text, /*add_special_tokens=*/true);
  if (ids.size() > max_length) {  // keep the final [SEP]
    const int32_t last = ids.back();
    ids.resize(max_length);
    ids.back() = last;
  }
  return ids;
}

std::pair<torch::Tensor, torch::Tensor> PaddedIds(const std::vector<const std::vector<int32_t>*>& ids) {
  PRLM_CHECK(!ids.empty());
  size_t longest = 0;
  for (const auto* e : ids) longest = std::max(longest, e->size());
  const int64_t b = static_cast<int64_t>(ids.size()), t = static_cast<int64_t>(longest);
  auto id_t = torch::zeros({b, t}, torch::kLong), mask = torch::zeros({b, t}, torch::kLong);
  auto ida = id_t.accessor<int64_t, 2>(), ma = mask.accessor<int64_t, 2>();
  for (int64_t i = 0; i < b; ++i)
    for (size_t j = 0; j < ids[i]->size(); ++j) ida[i][j] = (*ids[i])[j], ma[i][j] = 1;
  return {id_t, mask};
}

torch::Tensor EmbedIds(model::BertEncoder& encoder, const std::vector<const std::vector<int32_t>*>& ids,
                       model::Pooling pooling) {
  const auto [id_t, mask] = PaddedIds(ids);
  auto hidden = encoder->Forward(id_t, torch::zeros_like(id_t), mask);
  auto pooled = encoder->Pool(hidden, mask, pooling).to(torch::kFloat);
  return torch::nn::functional::normalize(pooled, torch::nn::functional::NormalizeFuncOptions().dim(1));
}

}  // namespace prlm::retrieval_shards
