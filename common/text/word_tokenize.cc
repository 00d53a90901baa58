#include "common/text/word_tokenize.h"

#include <utility>

#include "common/text/regex.h"
#include "common/text/unicode.h"

namespace prlm::text {
namespace {

struct Rewrite {
  Regex pattern;
  std::string replacement;
};

// NLTK's pattern lists, in the order tokenize() applies them. Python's
// replacement syntax (\1, \g<0>) is written as PCRE2's ($1, $0).
std::vector<Rewrite> MakeRewrites() {
  const std::string ws = "[\\s\\x{1c}-\\x{1f}]";  // Python's \s
  std::vector<std::pair<std::string, std::string>> rules = {
      // Starting quotes.
      {"([«“‘„]|[`]+)", " $1 "},
      {"^\"", "``"},
      {"(``)", " $1 "},
      {"([ \\(\\[{<])(\"|\\'{2})", "$1 `` "},
      {"(?i)(\\')(?!re|ve|ll|m|t|s|d|n)(\\w)\\b", "$1 $2"},
      // Punctuation.
      {"([^\\.])(\\.)([\\]\\)}>\"\\'»”’ ]*)" + ws + "*$", "$1 $2 $3 "},
      {"([:,])([^\\d])", " $1 $2"},
      {"([:,])$", " $1 "},
      {"\\.{2,}", " $0 "},
      {"[;@#$%&]", " $0 "},
      {"([^\\.])(\\.)([\\]\\)}>\"\\']*)" + ws + "*$", "$1 $2$3 "},
      {"[?!]", " $0 "},
      {"([^'])' ", "$1 ' "},
      {"[*]", " $0 "},
      // Parentheses and brackets, double dashes.
      {"[\\]\\[\\(\\)\\{\\}\\<\\>]", " $0 "},
      {"--", " -- "},
  };
  std::vector<Rewrite> out;
  for (auto& [pattern, replacement] : rules) out.push_back({Regex(pattern), replacement});
  return out;
}

// Applied after the text is padded with one space on each side.
std::vector<Rewrite> MakeEndingRewrites() {
  std::vector<std::pair<std::string, std::string>> rules = {
      // Ending quotes.
      {"([»”’])", " $1 "},
      {"''", " '' "},
      {"\"", " '' "},
      {"([^' ])('[sS]|'[mM]|'[dD]|') ", "$1 $2 "},
      {"([^' ])('ll|'LL|'re|'RE|'ve|'VE|n't|N'T) ", "$1 $2 "},
      // MacIntyre's contractions (CONTRACTIONS2, then CONTRACTIONS3).
      {"(?i)\\b(can)(not)\\b", " $1 $2 "},
      {"(?i)\\b(d)('ye)\\b", " $1 $2 "},
      {"(?i)\\b(gim)(me)\\b", " $1 $2 "},
      {"(?i)\\b(gon)(na)\\b", " $1 $2 "},
      {"(?i)\\b(got)(ta)\\b", " $1 $2 "},
      {"(?i)\\b(lem)(me)\\b", " $1 $2 "},
      {"(?i)\\b(more)('n)\\b", " $1 $2 "},
      {"(?i)\\b(wan)(na)(?=[\\s\\x{1c}-\\x{1f}])", " $1 $2 "},
      {"(?i) ('t)(is)\\b", " $1 $2 "},
      {"(?i) ('t)(was)\\b", " $1 $2 "},
  };
  std::vector<Rewrite> out;
  for (auto& [pattern, replacement] : rules) out.push_back({Regex(pattern), replacement});
  return out;
}

}  // namespace

std::vector<std::string> NltkWordTokenize(std::string_view input) {
  static const std::vector<Rewrite> kRewrites = MakeRewrites();
  static const std::vector<Rewrite> kEndingRewrites = MakeEndingRewrites();
  std::string text = SanitizeUtf8(input);
  for (const auto& r : kRewrites) text = r.pattern.ReplaceAll(text, r.replacement);
  text = " " + text + " ";
  for (const auto& r : kEndingRewrites) text = r.pattern.ReplaceAll(text, r.replacement);
  std::vector<std::string> tokens;
  for (auto piece : SplitPythonWhitespace(text)) tokens.emplace_back(piece);
  return tokens;
}

}  // namespace prlm::text
