// Step 2 of parsing a chat template: one tag's expression text as an Expr
// tree, with Python's and Jinja2's precedence (x if c else y < or < and <
// not < comparisons, in < + - < ~ < * / // % < ** < unary < filters | and
// tests is < postfix . [] () < literals and names). Filters and tests are
// checked against filters.h's tables here, so an unsupported one is a parse
// error naming the line. The statement parser drives it token by token
// through the public methods. Internal to common/jinja.
// Thread-safety: one parser per tag, on one thread.
#pragma once

#include <string>
#include <vector>

#include "common/jinja/syntax_tree.h"
#include "common/jinja/template_error.h"

namespace prlm::jinja {

struct Tok {
  enum Kind { kName, kString, kInt, kFloat, kOp, kEnd } kind;
  std::string text;
};

class ExprParser {
 public:
  // Throws TemplateError naming `line` on a character no token starts with.
  ExprParser(const std::string& text, int line);

  ExprPtr ParseExpression() { return Conditional(); }
  // Without "x if c else y" (a for loop's iterable, where "if" filters).
  ExprPtr ParseWithoutCondition() { return Or(); }
  // A comma list without brackets is a tuple (for / set targets and values).
  ExprPtr ParseTupleOrExpression() {
    auto first = ParseExpression();
    if (!IsOp(",")) return first;
    auto t = Make(Expr::kTuple);
    t->kids.push_back(first);
    while (Accept(",")) {
      if (AtEnd()) break;
      t->kids.push_back(ParseExpression());
    }
    return t;
  }
  bool AtEnd() const { return toks_[p_].kind == Tok::kEnd; }
  bool IsName(const char* n) const { return toks_[p_].kind == Tok::kName && toks_[p_].text == n; }
  bool AcceptName(const char* n) {
    if (!IsName(n)) return false;
    ++p_;
    return true;
  }
  std::string ExpectName() {
    if (toks_[p_].kind != Tok::kName) Fail(line_, "expected a name, got '" + toks_[p_].text + "'");
    return toks_[p_++].text;
  }
  void Expect(const char* op) {
    if (!Accept(op)) Fail(line_, std::string("expected '") + op + "', got '" + toks_[p_].text + "'");
  }
  void ExpectEnd() {
    if (!AtEnd()) Fail(line_, "unexpected '" + toks_[p_].text + "'");
  }
  bool IsOp(const char* op) const { return toks_[p_].kind == Tok::kOp && toks_[p_].text == op; }
  bool Accept(const char* op) {
    if (!IsOp(op)) return false;
    ++p_;
    return true;
  }

 private:
  ExprPtr Make(Expr::Kind k);
  ExprPtr Binary(const std::string& op, ExprPtr a, ExprPtr b);
  ExprPtr Conditional();
  ExprPtr Or();
  ExprPtr And();
  ExprPtr Not();
  ExprPtr Compare();
  ExprPtr Math1();
  ExprPtr Concat();
  ExprPtr Math2();
  ExprPtr Pow();
  ExprPtr Unary();
  void Arguments(const ExprPtr& call);
  ExprPtr FilterTail(ExprPtr e);
  ExprPtr Postfix(ExprPtr e);
  ExprPtr Primary();

  std::vector<Tok> toks_;
  size_t p_ = 0;
  int line_;
};

}  // namespace prlm::jinja
