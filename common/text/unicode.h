// UTF-8 and Unicode helpers shared by the tokenizers and text metrics.
//
// Every function accepts arbitrary bytes. Invalid UTF-8 is replaced by U+FFFD
// one maximal ill-formed subsequence at a time (the WHATWG / Unicode "best
// practice" rule, which is also what Node.js does when it reads a file), so
// encode and decode never fail on bad bytes. Thread-safe: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace prlm::text {

constexpr char32_t kReplacementChar = 0xFFFD;

// Decodes one code point at `pos` and advances `pos`; invalid bytes yield
// U+FFFD. REQUIRES: pos < s.size().
char32_t NextCodepoint(std::string_view s, size_t& pos);

void AppendUtf8(std::string& out, char32_t cp);
std::string ToUtf8(const std::u32string& cps);
std::u32string ToCodepoints(std::string_view s);

// Valid UTF-8 copy of `s` (invalid bytes -> U+FFFD).
std::string SanitizeUtf8(std::string_view s);
bool IsValidUtf8(std::string_view s);
// `s` without leading and trailing ASCII whitespace (what Python's strip() removes from ASCII text).
std::string_view StripAsciiSpace(std::string_view s);

// Unicode normalization forms (utf8proc). Input is sanitized first.
std::string Nfc(std::string_view s);
std::string Nfd(std::string_view s);
std::string Nfkc(std::string_view s);
std::string Nfkd(std::string_view s);
std::string Lowercase(std::string_view s);
// Removes combining marks (category Mn), as HF's StripAccents does after NFD.
std::string StripMarks(std::string_view s);

bool IsUnicodeWhitespace(char32_t cp);  // White_Space property
// What Python's str.isspace() accepts: White_Space plus the separators \x1c-\x1f.
bool IsPythonWhitespace(char32_t cp);
// Python's str.split() with no argument: pieces between runs of
// IsPythonWhitespace characters, none empty. Views into `s`.
std::vector<std::string_view> SplitPythonWhitespace(std::string_view s);
// Python's str.rstrip(): `s` without trailing IsPythonWhitespace characters.
std::string_view RStripPythonWhitespace(std::string_view s);
bool IsUnicodePunctuation(char32_t cp);  // category P*
bool IsControl(char32_t cp);             // Cc / Cf, excluding \t \n \r
bool IsCjkIdeograph(char32_t cp);        // BERT's "Chinese character" ranges

}  // namespace prlm::text
