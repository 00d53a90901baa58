// The character properties and case mappings of Python 3's str, on code
// points, from tables generated off Python itself (make_py_unicode_tables.py
// writes py_unicode_tables.inc): what str.isspace(), str.isdigit(),
// str.upper(), str.lower() and str.title() do to one character, and the
// cased / case-ignorable properties that str.lower()'s final sigma and
// str.title()'s word starts depend on.
//
// Internal to common/jinja (py_string.h builds the str methods on it).
// Thread-safety: pure functions over constant tables.
#pragma once

#include <string>
#include <string_view>

namespace prlm::jinja {

bool PyIsSpace(char32_t c);  // str.isspace(): White_Space and \x1c-\x1f
bool PyIsDigit(char32_t c);  // str.isdigit(): Numeric_Type Digit or Decimal
bool PyIsCased(char32_t c);
bool PyIsCaseIgnorable(char32_t c);

// The length in bytes of the str.isspace() character that starts at s[at]
// (0: none there). Jinja2's lexer strips and skips this whitespace (its \s
// and str.rstrip()) around "-" tags and between a tag's tokens.
size_t SpaceBytesAt(std::string_view s, size_t at);

// The full mapping of `c` (one or more code points) appended to *out.
void AppendUpper(char32_t c, std::u32string* out);
void AppendLower(char32_t c, std::u32string* out);  // U+03A3 -> U+03C3: the final sigma is py_string's
void AppendTitle(char32_t c, std::u32string* out);

}  // namespace prlm::jinja
