// A compiled PCRE2 pattern (UTF + Unicode properties, JIT when available) with
// the two operations tokenizers need: all non-overlapping matches in a string,
// and Python's re.sub (every non-overlapping match replaced).
// Hugging Face writes its split patterns for Oniguruma; the constructs they use
// (\p{L}, \p{N}, \s, (?i:...), (?!...)) mean the same in PCRE2 with UCP.
// Thread-safety: a Regex may be used from many threads at once (match data is
// per call).
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace prlm::text {

class Regex {
 public:
  // Throws util::Error naming the pattern and the offset of a syntax error.
  // literal=true matches `pattern` as plain text.
  explicit Regex(const std::string& pattern, bool literal = false);
  ~Regex();
  Regex(Regex&&) noexcept;
  Regex& operator=(Regex&&) noexcept;

  // [begin, end) byte ranges of every match, left to right. REQUIRES: valid UTF-8.
  std::vector<std::pair<size_t, size_t>> FindAll(std::string_view text) const;
  // Every non-overlapping match replaced by `replacement`, where $N (or ${N})
  // is group N and an unset group is empty (Python's \N and \g<N>).
  // REQUIRES: valid UTF-8. Throws util::Error on a bad replacement string.
  std::string ReplaceAll(std::string_view text, std::string_view replacement) const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace prlm::text
