// Reading values as Jinja2's sandbox does, shared by the renderer and the
// filters: iteration, numbers, obj[key] / obj.attr with Jinja2's words for a
// missing one, and attribute paths ("a.b", "a.0") as selectattr and map read
// them. Internal to common/jinja. Thread-safety: pure functions.
#pragma once

#include <string>

#include "common/jinja/value.h"

namespace prlm::jinja {

// A list's items, a dict's keys, a str's characters (code points), nothing
// for undefined. Throws TemplateError naming `line` for anything else.
List Iterate(const Value& v, int line);

// v as a number (a bool counts as an int). Throws TemplateError naming
// `line` otherwise.
Value ToNumber(const Value& v, int line);

// An attribute name as a key: digits (x.0, selectattr('a.1')) index a list.
Value KeyOf(const std::string& name);

// obj[key] or obj.key: a missing key, an index out of range or of the wrong
// type is undefined, saying why in Jinja2's words.
Value Item(const Value& obj, const Value& key);

// " (why v is undefined)", or "" when v is not undefined.
std::string WhyUndefined(const Value& v);

// item.a.b (parts that are digits index a list); a part that is undefined
// becomes `fallback` when one is given.
Value AttributePath(const Value& item, const Value& path, int line, const Value& fallback = Value());

}  // namespace prlm::jinja
