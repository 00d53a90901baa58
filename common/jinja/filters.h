// Jinja2's filters (`v | name(args)`) and tests (`v is name(arg)`) that chat
// templates use, each a function in a name -> function table; the parser
// refuses any name not in them, the renderer applies them, and select /
// selectattr / map name theirs at render time.
//
// Filters: length count tojson (transformers': ensure_ascii, indent,
// separators, sort_keys) trim upper lower capitalize title first last default
// d join string safe int float list items reverse replace abs round unique
// select reject selectattr rejectattr map indent.
// Tests: defined undefined none string number integer float boolean mapping
// iterable sequence callable true false even odd eq equalto == ne != lt <
// lessthan gt > greaterthan le <= ge >= in.
//
// Internal to common/jinja. Thread-safety: the tables are immutable.
#pragma once

#include <string>

#include "common/jinja/value.h"

namespace prlm::jinja {

bool IsFilter(const std::string& name);
bool IsTest(const std::string& name);

// `v | name(args)`. Throws TemplateError naming `line` for an unknown filter
// or a value it cannot take.
Value ApplyFilter(const std::string& name, const Value& v, const CallArgs& args, int line);

// `v is name(arg)` (arg undefined when none is given). Throws TemplateError
// naming `line` for an unknown test or a value it cannot take.
bool ApplyTest(const std::string& name, const Value& v, const Value& arg, int line);

}  // namespace prlm::jinja
