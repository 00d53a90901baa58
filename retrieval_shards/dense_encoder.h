// Text -> unit-length embedding with a BERT-architecture encoder (bge,
// Contriever, or any Hugging Face BERT directory): tokenize with the model's
// tokenizer.json ([CLS] text [SEP], cut to max_length keeping [SEP]), run the
// encoder, pool ([CLS] or masked mean), L2-normalise.
//
// Texts are embedded in the order given, `batch_size` at a time; the same
// texts in the same batches give bit-identical vectors, which is why the index
// builder embeds each user's items as their own batches (results then do not
// depend on how users are sharded).
//
// Torch stays in the .cc. Thread-safety: Embed() is serialized internally.
#pragma once

#include <memory>
#include <string>
#include <vector>

namespace prlm::retrieval_shards {

struct DenseEncoderOptions {
  std::string model_dir;
  std::string pooling = "mean";  // "mean" or "cls"
  int max_length = 512;
  int batch_size = 64;
};

class DenseEncoder {
 public:
  explicit DenseEncoder(DenseEncoderOptions options);
  ~DenseEncoder();
  // Row-major [texts.size(), dim()].
  std::vector<float> Embed(const std::vector<std::string>& texts) const;
  int dim() const;
  const DenseEncoderOptions& options() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace prlm::retrieval_shards
