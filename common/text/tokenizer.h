// A Hugging Face tokenizer.json, loaded and run natively.
//
// Encode follows the library's pipeline: split out added/special tokens,
// normalize, pre-tokenize, run the model (byte-level BPE or WordPiece) on each
// piece, then (with add_special_tokens) the post-processor's template. Decode
// maps ids back to token strings and runs the decoder; bytes that are not valid
// UTF-8 come out as U+FFFD. Any text (including invalid UTF-8, which is first
// replaced by U+FFFD as Node.js does) encodes without error.
//
// Decode also honours tokenizer_config.json's clean_up_tokenization_spaces
// (read from beside tokenizer.json; transformers' default, true, if absent).
//
// Thread-safety: a loaded Tokenizer is immutable and safe to share.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace prlm::text {

struct Encoding {
  std::vector<int32_t> ids;
  std::vector<int32_t> type_ids;  // 0 for the first sequence, 1 for the second
};

class Tokenizer {
 public:
  // Throws util::Error naming the file and the offending section.
  static std::shared_ptr<const Tokenizer> FromFile(const std::string& path);
  static std::shared_ptr<const Tokenizer> FromJsonText(std::string_view json, const std::string& source,
                                                       bool clean_up_tokenization_spaces = false);
  ~Tokenizer();

  std::vector<int32_t> Encode(std::string_view text, bool add_special_tokens = false) const;
  // Sentence pair (BERT: [CLS] a [SEP] b [SEP] with type ids 0.. then 1..).
  // max_length > 0 truncates to that many ids in all, special tokens
  // included, with transformers' "longest_first" rule: a token at a time
  // from the end of the longer sequence, the second one on ties.
  Encoding EncodePair(std::string_view a, std::string_view b, bool add_special_tokens = true,
                      size_t max_length = 0) const;
  Encoding EncodeWithTypes(std::string_view text, bool add_special_tokens) const;
  std::string Decode(std::span<const int32_t> ids, bool skip_special_tokens = false) const;

  std::optional<int32_t> TokenToId(std::string_view token) const;
  // "" for an id that is not in the vocabulary.
  std::string IdToToken(int32_t id) const;
  bool IsSpecial(int32_t id) const;
  // One past the largest id (model vocabulary and added tokens).
  int32_t vocab_size() const;
  const std::string& source() const;

 private:
  Tokenizer();
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace prlm::text
