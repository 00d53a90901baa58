// The PrLM contrastive personalization reward model: a BERT-architecture
// encoder with a linear head (one output) on the pooled [CLS] state,
// reading (query, answer) as a sentence pair:
//   [CLS] query [SEP] answer [SEP], token types 0 then 1,
// cut to max_length with transformers' "longest_first" rule (a token at a
// time from the longer side; the answer on ties). It sees neither the profile
// nor the reasoning. Saved and loaded in Hugging Face layout as
// BertForSequenceClassification (num_labels 1) with its tokenizer, so
// transformers loads it as it is.
//
// Thread-safety: Encode() is thread-safe; Forward/Score one at a time.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/model/bert.h"
#include "common/text/tokenizer.h"

namespace prlm::reward {

class RewardModel {
 public:
  // `dir` holds config.json (BERT), weights and tokenizer.json. A plain BERT
  // checkpoint gets a new head drawn from `seed` (see LoadBertClassifier).
  // max_length is capped at the model's max_position_embeddings.
  static std::unique_ptr<RewardModel> Load(const std::string& dir, int max_length = 512, uint64_t seed = 42);

  text::Encoding Encode(std::string_view query, std::string_view answer) const;

  // Scores [B] (fp32) of a right-padded batch; builds a graph when grad mode is
  // on (training), so callers choose train()/eval() and NoGradGuard.
  torch::Tensor Forward(const std::vector<const text::Encoding*>& batch);
  // Inference: eval mode, no grad, chunks of at most max_batch sequences of
  // similar length (sorted, so less padding); scores in input order.
  std::vector<float> Score(const std::vector<const text::Encoding*>& encoded, int max_batch = 64);
  // Pooled states [B, H] (fp32) of a right-padded batch: LoRe's phi(x, y).
  torch::Tensor Embed(const std::vector<const text::Encoding*>& batch, model::Pooling pooling);
  // Inference: Embed in length-sorted chunks of at most max_batch; rows in input order, on the CPU.
  torch::Tensor EmbedAll(const std::vector<const text::Encoding*>& encoded, model::Pooling pooling, int max_batch = 64);
  // Encode then EmbedAll.
  torch::Tensor EmbedTexts(const std::vector<std::pair<std::string, std::string>>& query_answer, model::Pooling pooling,
                           int max_batch = 64);
  // Convenience: Encode then Score.
  std::vector<float> ScoreTexts(const std::vector<std::pair<std::string, std::string>>& query_answer,
                                int max_batch = 64);

  // config.json + model.safetensors, and the tokenizer files of the directory
  // it was loaded from (tokenizer.json, tokenizer_config.json, ...).
  void Save(const std::string& dir);

  model::BertEncoder& encoder() { return encoder_; }
  const text::Tokenizer& tokenizer() const { return *tokenizer_; }
  int max_length() const { return max_length_; }
  bool new_head() const { return new_head_; }
  const std::string& source_dir() const { return source_dir_; }

 private:
  struct BatchTensors {
    torch::Tensor ids, types, mask;
  };
  RewardModel() = default;
  BatchTensors Pad(const std::vector<const text::Encoding*>& batch) const;
  // `run` over length-sorted chunks (eval mode, no grad); rows in input order.
  torch::Tensor InLengthOrder(const std::vector<const text::Encoding*>& encoded, int max_batch,
                              const std::function<torch::Tensor(const std::vector<const text::Encoding*>&)>& run);
  model::BertEncoder encoder_{nullptr};
  std::shared_ptr<const text::Tokenizer> tokenizer_;
  int max_length_ = 512;
  bool new_head_ = false;
  std::string source_dir_;
};

}  // namespace prlm::reward
