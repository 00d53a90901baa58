// A Jinja2 subset sufficient for real chat templates, rendering as
// transformers' apply_chat_template does (an immutable sandbox with
// trim_blocks, lstrip_blocks, the loopcontrols extension and its
// {% generation %} tag; line ends read as "\n", one final line end dropped).
//
// Supported:
//   tags        {{ }}, {% %}, {# #}, with "-" whitespace control and "+"
//               to keep lstrip_blocks off one tag
//   statements  if / elif / else, for (loop.index, index0, revindex,
//               revindex0, first, last, length, previtem, nextitem; an "if"
//               filter; else; tuple unpacking), set (a name, a namespace
//               attribute, or a tuple; or a block: {% set x %}..{% endset %}),
//               macro (parameters with defaults; its own scope over the
//               template's top-level variables), call (caller(), with
//               parameters), generation, break, continue
//   expressions literals (str, int, float, true/false/none in either case,
//               lists, dicts, tuples), names, .attr, [index], [a:b:c],
//               calls (with *args and **kwargs), + - * / // % ** ~,
//               comparisons, in / not in, and / or / not, x if c else y,
//               filters (|) and tests (is)
//   filters     length count tojson (transformers': ensure_ascii, indent,
//               separators, sort_keys) trim upper lower capitalize title
//               first last default d join string int float list items
//               reverse replace safe abs round unique select reject
//               selectattr rejectattr map indent
//   tests       defined undefined none string number integer float boolean
//               mapping iterable sequence callable true false even odd eq
//               equalto == != lt gt le ge in
//   methods     str: startswith endswith find count split rsplit splitlines
//               strip lstrip rstrip upper lower title capitalize replace
//               isdigit isspace, with Python 3's semantics on all of Unicode
//               (py_string.h; tests/py_string_test.cc renders each, and the
//               filters built on them, against python3 and Jinja2);
//               dict: items keys values get
//   globals     namespace(), raise_exception(msg), range(), strftime_now(fmt)
//               and whatever the context gives
//
// Undefined values behave as Jinja2's default Undefined: a missing variable,
// key, attribute or index is undefined (printed as "", false, iterates
// empty); using one in arithmetic, as a callee or in tojson is an error
// saying why it is undefined in Jinja2's words ("'dict object' has no
// attribute 'name'").
//
// Anything else (filter blocks, include, import, extends, raw, ...) is
// refused at Parse with a TemplateError naming the line; so is a syntax
// error. Rendering errors (raise_exception, a misused undefined value, a type
// error) are TemplateErrors naming the line too.
//
// How it is built, one concept a file: lexer.h (source -> pieces),
// expression_parser.h and statement_parser.h (pieces -> syntax_tree.h),
// renderer.h (tree -> text) with filters.h (filters and tests),
// py_string.h (Python's str methods) and value_access.h (items, iteration).
//
// Thread-safety: a parsed Template is immutable; Render may run on several
// threads at once.
#pragma once

#include <memory>
#include <string>

#include "common/jinja/template_error.h"
#include "common/jinja/value.h"

namespace prlm::jinja {

struct TemplateOptions {
  bool trim_blocks = true;
  bool lstrip_blocks = true;
};

class Template {
 public:
  // Throws TemplateError naming the line of the first problem.
  static Template Parse(const std::string& source, const TemplateOptions& options = {});

  // REQUIRES: context is a dict (the template's variables).
  std::string Render(const Value& context) const;

  struct Node;

 private:
  std::shared_ptr<const Node> root_;
};

}  // namespace prlm::jinja
