#include "common/jinja/template.h"

#include "common/jinja/lexer.h"
#include "common/jinja/renderer.h"
#include "common/jinja/statement_parser.h"

namespace prlm::jinja {

// The three steps of parsing: line ends, pieces, the statement tree.
Template Template::Parse(const std::string& source, const TemplateOptions& options) {
  Template t;
  t.root_ = ParseStatements(Lex(NormalizeLineEnds(source), options));
  return t;
}

std::string Template::Render(const Value& context) const {
  if (!context.is_mapping()) throw TemplateError("chat template: the context must be a dict");
  return RenderTemplate(*root_, context);
}

}  // namespace prlm::jinja
