// Step 1 of parsing a chat template: its source as a list of pieces (text,
// {{ expression }}, {% statement %}; {# comments #} dropped), with Jinja2's
// whitespace control applied as transformers configures it: "-" strips the
// whitespace beside a tag, "+" keeps lstrip_blocks off one tag, trim_blocks
// drops the newline after a block tag, lstrip_blocks the spaces before one.
// Internal to common/jinja. Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

#include "common/jinja/template.h"

namespace prlm::jinja {

struct Piece {
  enum Kind { kText, kExpr, kStmt } kind;
  std::string text;  // kExpr / kStmt: the tag's inside, without its markers
  int line;          // where the piece starts, from 1
};

// Jinja2 reads a template with its line ends as "\n" and drops one final
// line end (keep_trailing_newline is off in transformers).
std::string NormalizeLineEnds(const std::string& source);

// REQUIRES: src from NormalizeLineEnds. Throws TemplateError on an unclosed tag.
std::vector<Piece> Lex(const std::string& src, const TemplateOptions& o);

}  // namespace prlm::jinja
