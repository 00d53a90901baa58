// NLTK's word tokenizer (`NLTKWordTokenizer().tokenize`, the per-sentence step
// of `nltk.word_tokenize`), which METEOR's references tokenize with: quotes to
// `` and '', punctuation split off, a final period split, contractions
// ("don't" -> "do" "n't", "cannot" -> "can" "not"), then Python's str.split().
//
// It runs NLTK's own regular expressions in their order on PCRE2 (Unicode
// mode; \s also covers \x1c-\x1f as Python's does). Not done: Punkt sentence
// splitting, which `word_tokenize` runs first and which needs a trained model
// Debian does not package -- so a period inside a text stays on its word
// ("it. Then" -> "it." "Then"), as NLTKWordTokenizer leaves it.
//
// Thread-safe: the compiled patterns are immutable.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace prlm::text {

// REQUIRES: nothing; invalid UTF-8 is replaced by U+FFFD first.
std::vector<std::string> NltkWordTokenize(std::string_view text);

}  // namespace prlm::text
