// Rendering a parsed chat template: statements in order, expressions
// evaluated with Python's semantics (value.h), names looked up in the
// template's scopes, then the context, then the globals namespace(), dict(),
// raise_exception(msg), range() and strftime_now(fmt). Macros and caller()
// run in frames of their own; a macro nested deeper than 200 calls is an
// error, not a stack overflow. Internal to common/jinja.
// Thread-safety: each call renders with its own state; the tree is only read.
#pragma once

#include <string>

#include "common/jinja/syntax_tree.h"

namespace prlm::jinja {

// REQUIRES: context is a dict. Throws TemplateError naming the line.
std::string RenderTemplate(const Template::Node& root, const Value& context);

}  // namespace prlm::jinja
