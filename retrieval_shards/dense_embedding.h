// The dense retriever's embedding, in two steps shared by the index builder
// (DenseEncoder, under NoGradGuard) and the retriever trainer (with
// autograd): a text's ids ([CLS] text [SEP], cut to max_length keeping the
// final [SEP]), then a padded batch of ids through the encoder, pooled
// ([CLS] or masked mean) and L2-normalised, so scores are cosines.
// Thread-safety: the encoder's (one forward at a time).
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/model/bert.h"
#include "common/text/tokenizer.h"

namespace prlm::retrieval_shards {

// REQUIRES: max_length >= 2.
std::vector<int32_t> EmbeddingIds(const text::Tokenizer& tokenizer, const std::string& text, size_t max_length);

// A right-padded batch: ids and the attention mask (1 on real tokens), int64
// [ids.size(), longest]. REQUIRES: ids non-empty.
std::pair<torch::Tensor, torch::Tensor> PaddedIds(const std::vector<const std::vector<int32_t>*>& ids);

// [ids.size(), hidden] unit rows, fp32. REQUIRES: ids non-empty, none empty.
torch::Tensor EmbedIds(model::BertEncoder& encoder, const std::vector<const std::vector<int32_t>*>& ids,
                       model::Pooling pooling);

}  // namespace prlm::retrieval_shards
