// Python 3's str semantics that chat templates rely on, for the str methods
// ('x'.strip(), ...) and the filters (| trim, ...) that are defined by them,
// on all of Unicode: whitespace is str.isspace()'s, case mappings are the
// full ones with special casing ("ß".upper() is "SS", final sigma in
// lower()), offsets and lengths count code points (py_unicode.h has the
// character tables, generated from Python itself).
//
// Methods implemented (StringMethod), each with Python's arguments:
// startswith endswith (a tuple of affixes, start, end) find count (start,
// end) split rsplit (sep, maxsplit) splitlines strip lstrip rstrip (chars)
// upper lower title capitalize replace (count) isdigit isspace.
// Filters built on them (filters.cc): trim upper lower capitalize replace,
// indent (splitlines) and title, which is Jinja2's own (JinjaTitle).
// tests/py_string_test.cc compares every one with /usr/bin/python3 and
// Jinja2 on a generated corpus.
//
// Strings are UTF-8 (invalid bytes are read as U+FFFD).
// Internal to common/jinja. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/jinja/value.h"

namespace prlm::jinja {

// str.strip / lstrip / rstrip: `chars` a string (its code points are
// stripped), or undefined / none for whitespace.
std::string PyStrip(const std::string& s, const Value& chars, bool left, bool right);
// str.split(sep, maxsplit) and str.rsplit: `sep` undefined / none splits on
// whitespace runs and drops empty parts; max_split < 0: no limit.
std::vector<std::string> PySplit(const std::string& s, const Value& sep, int64_t max_split, bool from_right = false);
// str.splitlines(): \n, \r\n, \r, \v, \f, \x1c-\x1e, U+0085, U+2028 and
// U+2029 end a line; the ends are dropped.
std::vector<std::string> PySplitLines(const std::string& s);
std::string PyUpper(const std::string& s);
std::string PyLower(const std::string& s);
std::string PyTitle(const std::string& s);       // str.title()
std::string PyCapitalize(const std::string& s);  // str.capitalize()
// Jinja2's title filter: each word (split at runs of whitespace, '-', '(',
// '{', '[', '<') its first character upper-cased and the rest lower-cased.
std::string JinjaTitle(const std::string& s);
// str.replace(old, new, count): count < 0 replaces every occurrence.
std::string PyReplace(const std::string& s, const std::string& from, const std::string& to, int64_t count = -1);
// len(str): code points.
int64_t CodePoints(const std::string& s);

// The str method `name` of `s` as a callable, or undefined saying that str
// has no such attribute (as Jinja2 reads 'abc'.type).
Value StringMethod(const std::string& s, const std::string& name);

}  // namespace prlm::jinja
