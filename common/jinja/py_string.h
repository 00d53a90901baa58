// Python's str semantics that chat templates rely on, for the str methods
// ('x'.strip(), ...) and the filters (| trim, ...) that are defined by them.
// Strings are UTF-8; lengths and offsets count code points as Python's do.
//
// Methods implemented (StringMethod): startswith endswith split rsplit strip
// lstrip rstrip upper lower title capitalize replace find count isdigit
// isspace.
//
// Internal to common/jinja. Thread-safety: pure functions.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/jinja/value.h"

namespace prlm::jinja {

// str.strip / lstrip / rstrip: `chars` a string, or undefined / none for
// whitespace.
std::string PyStrip(const std::string& s, const Value& chars, bool left, bool right);
// str.split(sep, maxsplit): `sep` undefined / none splits on whitespace runs
// and drops empty parts; max_split < 0: no limit.
std::vector<std::string> PySplit(const std::string& s, const Value& sep, int64_t max_split);
// str.splitlines(): \n, \r\n, \r, \v, \f, \x1c-\x1e, U+0085, U+2028 and
// U+2029 end a line; the ends are dropped.
std::vector<std::string> PySplitLines(const std::string& s);
// str.title(), or str.capitalize() when capitalize_only.
std::string PyTitle(const std::string& s, bool capitalize_only);
// str.upper() (up) or str.lower().
std::string PyCase(const std::string& s, bool up);
// str.replace(old, new): every occurrence, left to right.
std::string PyReplace(std::string s, const std::string& from, const std::string& to);
// len(str): code points.
int64_t CodePoints(const std::string& s);

// The str method `name` of `s` as a callable, or undefined saying that str
// has no such attribute (as Jinja2 reads 'abc'.type).
Value StringMethod(const std::string& s, const std::string& name);

}  // namespace prlm::jinja
