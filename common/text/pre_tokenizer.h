// Hugging Face tokenizer.json "pre_tokenizer" section: Split (regex or string,
// every behavior, invert), ByteLevel, BertPreTokenizer, Whitespace,
// WhitespaceSplit, Digits, Punctuation, Sequence. A pre-tokenizer refines a
// list of pieces; ByteLevel also maps each piece's bytes to GPT-2 characters.
// Built once from JSON; PreTokenize() is const and thread-safe.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

namespace prlm::text {

class PreTokenizer {
 public:
  virtual ~PreTokenizer() = default;
  // Replaces `pieces` by its refinement. REQUIRES: every piece is valid UTF-8.
  virtual void PreTokenize(std::vector<std::string>& pieces) const = 0;
  // True if pieces leave in GPT-2 byte-level characters.
  virtual bool IsByteLevel() const { return false; }

  static std::unique_ptr<PreTokenizer> FromJson(const nlohmann::json& spec);
};

// The pattern Qwen2 / Qwen3 split text with (also written by train-tokenizer).
extern const char* const kQwen2SplitPattern;

}  // namespace prlm::text
