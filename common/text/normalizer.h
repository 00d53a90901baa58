// Hugging Face tokenizer.json "normalizer" section: NFC/NFD/NFKC/NFKD,
// Lowercase, StripAccents, BertNormalizer, Replace, Prepend, Sequence.
// Built once from JSON; Normalize() is const and thread-safe.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include <nlohmann/json_fwd.hpp>

namespace prlm::text {

class Normalizer {
 public:
  virtual ~Normalizer() = default;
  // REQUIRES: `text` is valid UTF-8.
  virtual std::string Normalize(std::string_view text) const = 0;

  // Null JSON gives nullptr (no normalization). An unknown type throws
  // util::Error naming it and the supported ones.
  static std::unique_ptr<Normalizer> FromJson(const nlohmann::json& spec);
};

}  // namespace prlm::text
