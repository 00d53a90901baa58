#include "common/jinja/statement_parser.h"

#include <set>
#include <sstream>

#include "common/jinja/expression_parser.h"
#include "common/jinja/template_error.h"

namespace prlm::jinja {

namespace {

NodePtr MakeNode(Template::Node::Kind k, int line) {
  auto n = std::make_shared<Template::Node>();
  n->kind = k;
  n->line = line;
  return n;
}

std::vector<std::string> Targets(ExprParser& p) {
  std::vector<std::string> names = {p.ExpectName()};
  while (p.Accept(",")) names.push_back(p.ExpectName());
  return names;
}

class StatementParser {
 public:
  explicit StatementParser(std::vector<Piece> pieces) : pieces_(std::move(pieces)) {}

  // Parses pieces into a body until one of `ends` (a statement keyword);
  // returns it in *ended ("" at the end of the template).
  NodePtr Body(const std::set<std::string>& ends, std::string* ended, int* ended_line, std::string* rest) {
    auto body = MakeNode(Template::Node::kBody, 0);
    while (i_ < pieces_.size()) {
      const Piece& piece = pieces_[i_++];
      if (piece.kind == Piece::kText) {
        auto t = MakeNode(Template::Node::kText, piece.line);
        t->text = piece.text;
        body->children.push_back(t);
        continue;
      }
      if (piece.kind == Piece::kExpr) {
        ExprParser p(piece.text, piece.line);
        auto out = MakeNode(Template::Node::kOutput, piece.line);
        out->expr = p.ParseExpression();
        p.ExpectEnd();
        body->children.push_back(out);
        continue;
      }
      std::istringstream words(piece.text);
      std::string keyword;
      words >> keyword;
      if (ends.count(keyword)) {
        *ended = keyword;
        *ended_line = piece.line;
        const size_t at = piece.text.find(keyword);
        *rest = piece.text.substr(at + keyword.size());
        return body;
      }
      body->children.push_back(Statement(keyword, piece));
    }
    if (!ends.empty()) {
      std::string want;
      for (const auto& e : ends) want += (want.empty() ? "" : " or ") + e;
      Fail(pieces_.empty() ? 1 : pieces_.back().line, "the template ends before {% " + want + " %}");
    }
    ended->clear();
    return body;
  }

 private:
  NodePtr Statement(const std::string& keyword, const Piece& piece) {
    const size_t at = piece.text.find(keyword);
    const std::string rest = piece.text.substr(at + keyword.size());
    ExprParser p(rest, piece.line);
    std::string ended, tail;
    int ended_line = 0;
    if (keyword == "if") {
      auto n = MakeNode(Template::Node::kIf, piece.line);
      auto cond = p.ParseExpression();
      p.ExpectEnd();
      while (true) {
        auto body = Body({"elif", "else", "endif"}, &ended, &ended_line, &tail);
        n->branches.emplace_back(cond, body);
        if (ended == "elif") {
          ExprParser q(tail, ended_line);
          cond = q.ParseExpression();
          q.ExpectEnd();
          continue;
        }
        if (ended == "else") {
          n->otherwise = Body({"endif"}, &ended, &ended_line, &tail);
        }
        return n;
      }
    }
    if (keyword == "for") {
      auto n = MakeNode(Template::Node::kFor, piece.line);
      n->targets = Targets(p);
      if (!p.AcceptName("in")) Fail(piece.line, "expected 'in' in a for statement");
      n->expr = p.ParseWithoutCondition();
      if (p.AcceptName("if")) n->filter = p.ParseExpression();
      if (p.AcceptName("recursive")) Fail(piece.line, "recursive for loops are not supported");
      p.ExpectEnd();
      ++loop_depth_;
      n->body = Body({"else", "endfor"}, &ended, &ended_line, &tail);
      --loop_depth_;
      if (ended == "else") n->otherwise = Body({"endfor"}, &ended, &ended_line, &tail);
      return n;
    }
    if (keyword == "set") {
      auto n = MakeNode(Template::Node::kSet, piece.line);
      n->targets = {p.ExpectName()};
      if (p.Accept("."))
        n->attr = p.ExpectName();
      else
        while (p.Accept(",")) n->targets.push_back(p.ExpectName());
      if (p.AtEnd() && n->targets.size() == 1) {  // {% set x %}...{% endset %}: x is the rendered body
        n->kind = Template::Node::kSetBlock;
        n->body = Body({"endset"}, &ended, &ended_line, &tail);
        return n;
      }
      if (!p.Accept("=")) Fail(piece.line, "expected '=' in a set statement");
      n->expr = p.ParseTupleOrExpression();
      p.ExpectEnd();
      return n;
    }
    if (keyword == "macro") {
      auto n = MakeNode(Template::Node::kMacro, piece.line);
      n->name = p.ExpectName();
      p.Expect("(");
      Parameters(p, n.get());
      p.ExpectEnd();
      const int outer_loops = loop_depth_;
      loop_depth_ = 0;  // a loop around the definition is not one around the body
      n->body = Body({"endmacro"}, &ended, &ended_line, &tail);
      loop_depth_ = outer_loops;
      return n;
    }
    if (keyword == "call") {
      auto n = MakeNode(Template::Node::kCallBlock, piece.line);
      if (p.Accept("(")) Parameters(p, n.get());  // {% call(a, b) m() %}: caller(a, b)
      n->expr = p.ParseExpression();
      if (n->expr->kind != Expr::kCall) Fail(piece.line, "{% call %} needs a call, such as {% call m() %}");
      p.ExpectEnd();
      n->body = Body({"endcall"}, &ended, &ended_line, &tail);
      return n;
    }
    if (keyword == "generation") {
      // transformers' {% generation %} marks the assistant's text (for
      // return_assistant_tokens_mask); the rendering is the body's.
      p.ExpectEnd();
      return Body({"endgeneration"}, &ended, &ended_line, &tail);
    }
    if (keyword == "break" || keyword == "continue") {
      if (loop_depth_ == 0) Fail(piece.line, "'" + keyword + "' outside a for loop");
      p.ExpectEnd();
      return MakeNode(keyword == "break" ? Template::Node::kBreak : Template::Node::kContinue, piece.line);
    }
    if (keyword.empty()) Fail(piece.line, "empty statement tag");
    if (keyword.rfind("end", 0) == 0 || keyword == "else" || keyword == "elif")
      Fail(piece.line, "unexpected {% " + keyword + " %}: no open block it closes");
    Fail(piece.line, "the statement '" + keyword + "' is not supported");
  }

  // After "(": name [= default], ... ")" into n->targets and n->defaults.
  static void Parameters(ExprParser& p, Template::Node* n) {
    while (!p.Accept(")")) {
      n->targets.push_back(p.ExpectName());
      n->defaults.push_back(p.Accept("=") ? p.ParseExpression() : nullptr);
      if (!p.IsOp(")")) p.Expect(",");
    }
  }

  std::vector<Piece> pieces_;
  size_t i_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

NodePtr ParseStatements(std::vector<Piece> pieces) {
  StatementParser parser(std::move(pieces));
  std::string ended, rest;
  int line = 0;
  return parser.Body({}, &ended, &line, &rest);
}

}  // namespace prlm::jinja
