// Hugging Face tokenizer.json "model" section: BPE (byte-level as in
// Qwen2/Qwen3/Llama-3, with ignore_merges, unk and byte_fallback) and
// WordPiece (BERT). A model turns one pre-tokenized piece into ids.
// Built once from JSON; Tokenize() is const and thread-safe.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "common/text/vocab.h"

namespace prlm::text {

class TokenModel {
 public:
  virtual ~TokenModel() = default;
  // Appends the ids of `piece` to `out`.
  virtual void Tokenize(std::string_view piece, std::vector<int32_t>& out) const = 0;
  // Model-level decoding of a token string list into text (WordPiece joins
  // "##" continuations; BPE concatenates).
  virtual const Vocab& vocab() const = 0;

  static std::unique_ptr<TokenModel> FromJson(const nlohmann::json& spec);
};

}  // namespace prlm::text
