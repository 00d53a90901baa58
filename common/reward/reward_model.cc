#include "common/reward/reward_model.h"

#include <algorithm>
#include <filesystem>
#include <numeric>

#include "common/model/pretrained.h"
#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::reward {

namespace fs = std::filesystem;

std::unique_ptr<RewardModel> RewardModel::Load(const std::string& dir, int max_length, uint64_t seed) {
  PRLM_REQUIRE(fs::exists(dir + "/tokenizer.json"), "reward model directory '" << dir << "' has no tokenizer.json");
  std::unique_ptr<RewardModel> rm(new RewardModel());
  rm->source_dir_ = dir;
  rm->encoder_ = model::LoadBertClassifier(dir, 1, seed, &rm->new_head_);
  rm->tokenizer_ = text::Tokenizer::FromFile(dir + "/tokenizer.json");
  PRLM_REQUIRE(max_length >= 8, "reward model max length " << max_length << " is too small (at least 8)");
  rm->max_length_ = static_cast<int>(std::min<int64_t>(max_length, rm->encoder_->config().max_position_embeddings));
  return rm;
}

text::Encoding RewardModel::Encode(std::string_view query, std::string_view answer) const {
  return tokenizer_->EncodePair(query, answer, /*add_special_tokens=*/true, static_cast<size_t>(max_length_));
}

RewardModel::BatchTensors RewardModel::Pad(const std::vector<const text::Encoding*>& batch) const {
  PRLM_CHECK(!batch.empty());
  size_t longest = 0;
  for (const auto* e : batch) longest = std::max(longest, e->ids.size());
  const int64_t B = static_cast<int64_t>(batch.size()), T = static_cast<int64_t>(longest);
  const int64_t pad = encoder_->config().pad_token_id;
  auto ids = torch::full({B, T}, pad, torch::kLong);
  auto types = torch::zeros({B, T}, torch::kLong);
  auto mask = torch::zeros({B, T}, torch::kLong);
  auto ia = ids.accessor<int64_t, 2>(), ta = types.accessor<int64_t, 2>(), ma = mask.accessor<int64_t, 2>();
  for (int64_t r = 0; r < B; ++r) {
    const auto& e = *batch[r];
    for (size_t t = 0; t < e.ids.size(); ++t) {
      ia[r][t] = e.ids[t];
      ta[r][t] = e.type_ids[t];
      ma[r][t] = 1;
    }
  }
  const auto device = encoder_->parameters().front().device();
  return {ids.to(device), types.to(device), mask.to(device)};
}

torch::Tensor RewardModel::Forward(const std::vector<const text::Encoding*>& batch) {
  const auto t = Pad(batch);
  return encoder_->Classify(t.ids, t.types, t.mask).select(1, 0).to(torch::kFloat);
}

torch::Tensor RewardModel::Embed(const std::vector<const text::Encoding*>& batch, model::Pooling pooling) {
  const auto t = Pad(batch);
  return encoder_->Pool(encoder_->Forward(t.ids, t.types, t.mask), t.mask, pooling).to(torch::kFloat);
}

torch::Tensor RewardModel::InLengthOrder(
    const std::vector<const text::Encoding*>& encoded, int max_batch,
    const std::function<torch::Tensor(const std::vector<const text::Encoding*>&)>& run) {
  PRLM_CHECK(max_batch >= 1 && !encoded.empty());
  torch::NoGradGuard no_grad;
  encoder_->eval();
  // Chunks of similar length waste less on padding; rows go back in input order.
  std::vector<int64_t> order(encoded.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(),
                   [&](int64_t a, int64_t b) { return encoded[a]->ids.size() < encoded[b]->ids.size(); });
  std::vector<torch::Tensor> parts;
  for (size_t begin = 0; begin < order.size(); begin += static_cast<size_t>(max_batch)) {
    const size_t end = std::min(order.size(), begin + static_cast<size_t>(max_batch));
    std::vector<const text::Encoding*> chunk;
    for (size_t i = begin; i < end; ++i) chunk.push_back(encoded[static_cast<size_t>(order[i])]);
    parts.push_back(run(chunk).cpu());
  }
  const auto sorted = torch::cat(parts);
  return torch::empty_like(sorted).index_copy_(0, torch::tensor(order, torch::kLong), sorted);
}

std::vector<float> RewardModel::Score(const std::vector<const text::Encoding*>& encoded, int max_batch) {
  if (encoded.empty()) return {};
  const auto scores = InLengthOrder(encoded, max_batch, [&](const auto& chunk) { return Forward(chunk); }).contiguous();
  return std::vector<float>(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
}

torch::Tensor RewardModel::EmbedTexts(const std::vector<std::pair<std::string, std::string>>& query_answer,
                                      model::Pooling pooling, int max_batch) {
  std::vector<text::Encoding> encoded;
  encoded.reserve(query_answer.size());
  for (const auto& [q, a] : query_answer) encoded.push_back(Encode(q, a));
  std::vector<const text::Encoding*> ptrs;
  for (const auto& e : encoded) ptrs.push_back(&e);
  return EmbedAll(ptrs, pooling, max_batch);
}

torch::Tensor RewardModel::EmbedAll(const std::vector<const text::Encoding*>& encoded, model::Pooling pooling,
                                    int max_batch) {
  return InLengthOrder(encoded, max_batch, [&](const auto& chunk) { return Embed(chunk, pooling); });
}

std::vector<float> RewardModel::ScoreTexts(const std::vector<std::pair<std::string, std::string>>& query_answer,
                                           int max_batch) {
  std::vector<text::Encoding> encoded;
  encoded.reserve(query_answer.size());
  for (const auto& [q, a] : query_answer) encoded.push_back(Encode(q, a));
  std::vector<const text::Encoding*> ptrs;
  for (const auto& e : encoded) ptrs.push_back(&e);
  return Score(ptrs, max_batch);
}

void RewardModel::Save(const std::string& dir) {
  model::SaveBert(encoder_, dir);
  util::CopyTokenizerFiles(source_dir_, dir);
}

}  // namespace prlm::reward
