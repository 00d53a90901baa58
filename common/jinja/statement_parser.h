// Step 3 of parsing a chat template: the lexer's pieces as a tree of
// statements (if / for / set / macro / call / generation / break /
// continue), each tag's expressions parsed by ExprParser. Refuses, naming the
// line, what Jinja2 would refuse and what this subset does not support.
// Internal to common/jinja. Thread-safety: pure function.
#pragma once

#include <vector>

#include "common/jinja/lexer.h"
#include "common/jinja/syntax_tree.h"

namespace prlm::jinja {

// The template's body (a kBody node). Throws TemplateError naming the line.
NodePtr ParseStatements(std::vector<Piece> pieces);

}  // namespace prlm::jinja
