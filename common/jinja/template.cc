#include "common/jinja/template.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <ctime>
#include <optional>
#include <set>
#include <sstream>
#include <unordered_map>

#include <utf8proc.h>

namespace prlm::jinja {

namespace {

[[noreturn]] void Fail(int line, const std::string& what) {
  throw TemplateError("chat template line " + std::to_string(line) + ": " + what);
}

// ---- 1. Lexing the template into text, {{ expression }} and {% statement %} ----

struct Piece {
  enum Kind { kText, kExpr, kStmt } kind;
  std::string text;
  int line;
};

bool IsSpace(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f'; }

// The end of a tag opened before `from`: the offset of `close` outside quotes.
size_t FindClose(const std::string& src, size_t from, const char* close, int line) {
  char quote = 0;
  for (size_t p = from; p + 1 < src.size(); ++p) {
    const char c = src[p];
    if (quote) {
      if (c == '\\') ++p;
      else if (c == quote) quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == close[0] && src[p + 1] == close[1]) {
      return p;
    }
  }
  Fail(line, std::string("unclosed tag: no '") + close + "'");
}

// Jinja2 reads a template with its line ends as "\n" and drops one final
// line end (keep_trailing_newline is off in transformers).
std::string NormalizeLineEnds(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t k = 0; k < source.size(); ++k) {
    if (source[k] != '\r') out += source[k];
    else if (k + 1 < source.size() && source[k + 1] == '\n') continue;  // \r\n: the \n follows
    else out += '\n';
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::vector<Piece> Lex(const std::string& src, const TemplateOptions& o) {
  std::vector<Piece> out;
  size_t pos = 0;
  bool strip_next = false;
  const auto line_of = [&](size_t at) { return 1 + static_cast<int>(std::count(src.begin(), src.begin() + at, '\n')); };
  while (pos <= src.size()) {
    size_t open = pos;
    while ((open = src.find('{', open)) != std::string::npos &&
           (open + 1 >= src.size() || (src[open + 1] != '{' && src[open + 1] != '%' && src[open + 1] != '#')))
      ++open;
    std::string text = src.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    if (strip_next) {
      size_t k = 0;
      while (k < text.size() && IsSpace(text[k])) ++k;
      text.erase(0, k);
    }
    if (open == std::string::npos) {
      if (!text.empty()) out.push_back({Piece::kText, text, line_of(pos)});
      break;
    }
    const char kind = src[open + 1];
    size_t inner = open + 2;
    const bool minus = inner < src.size() && src[inner] == '-';
    const bool plus = inner < src.size() && src[inner] == '+';
    if (minus || plus) ++inner;
    if (minus) {
      while (!text.empty() && IsSpace(text.back())) text.pop_back();
    } else if (o.lstrip_blocks && kind != '{' && !plus) {
      // Spaces and tabs between a line's start and a block tag go.
      const size_t nl = text.rfind('\n');
      const size_t from = nl == std::string::npos ? 0 : nl + 1;
      const bool line_start = nl != std::string::npos || pos == 0 || src[pos - 1] == '\n';
      if (line_start && std::all_of(text.begin() + static_cast<long>(from), text.end(),
                                    [](char c) { return c == ' ' || c == '\t'; }))
        text.erase(from);
    }
    const int line = line_of(open);
    if (!text.empty()) out.push_back({Piece::kText, text, line_of(pos)});
    const char* close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
    size_t end = kind == '#' ? src.find("#}", inner) : FindClose(src, inner, close, line);
    if (end == std::string::npos) Fail(line, "unclosed comment: no '#}'");
    const bool close_minus = end > inner && src[end - 1] == '-';
    const bool close_plus = end > inner && src[end - 1] == '+';
    std::string body = src.substr(inner, end - inner - (close_minus || close_plus ? 1 : 0));
    size_t after = end + 2;
    strip_next = close_minus;
    if (!close_minus && !close_plus && o.trim_blocks && kind != '{') {
      if (after < src.size() && src[after] == '\n') ++after;
      else if (after + 1 < src.size() && src[after] == '\r' && src[after + 1] == '\n') after += 2;
    }
    if (kind != '#') out.push_back({kind == '{' ? Piece::kExpr : Piece::kStmt, body, line});
    pos = after;
  }
  return out;
}

// ---- 2. Expressions: tokens, syntax tree, parser ----

struct Tok {
  enum Kind { kName, kString, kInt, kFloat, kOp, kEnd } kind;
  std::string text;
};

std::vector<Tok> Tokenize(const std::string& s, int line) {
  std::vector<Tok> out;
  size_t p = 0;
  while (p < s.size()) {
    const char c = s[p];
    if (IsSpace(c)) {
      ++p;
    } else if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t e = p;
      while (e < s.size() && (std::isalnum(static_cast<unsigned char>(s[e])) || s[e] == '_')) ++e;
      out.push_back({Tok::kName, s.substr(p, e - p)});
      p = e;
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      size_t e = p;
      while (e < s.size() && (std::isdigit(static_cast<unsigned char>(s[e])) || s[e] == '_')) ++e;
      bool is_float = false;
      if (e + 1 < s.size() && s[e] == '.' && std::isdigit(static_cast<unsigned char>(s[e + 1]))) {
        is_float = true;
        ++e;
        while (e < s.size() && std::isdigit(static_cast<unsigned char>(s[e]))) ++e;
      }
      if (e < s.size() && (s[e] == 'e' || s[e] == 'E')) {
        is_float = true;
        ++e;
        if (e < s.size() && (s[e] == '+' || s[e] == '-')) ++e;
        while (e < s.size() && std::isdigit(static_cast<unsigned char>(s[e]))) ++e;
      }
      std::string num = s.substr(p, e - p);
      num.erase(std::remove(num.begin(), num.end(), '_'), num.end());
      out.push_back({is_float ? Tok::kFloat : Tok::kInt, num});
      p = e;
    } else if (c == '\'' || c == '"') {
      std::string str;
      size_t e = p + 1;
      for (; e < s.size() && s[e] != c; ++e) {
        if (s[e] != '\\' || e + 1 >= s.size()) {
          str += s[e];
          continue;
        }
        const char n = s[++e];
        switch (n) {
          case 'n': str += '\n'; break;
          case 't': str += '\t'; break;
          case 'r': str += '\r'; break;
          case '\\': str += '\\'; break;
          case '\'': str += '\''; break;
          case '"': str += '"'; break;
          case '\n': break;
          default: str += '\\', str += n;
        }
      }
      if (e >= s.size()) Fail(line, "unterminated string literal");
      out.push_back({Tok::kString, str});
      p = e + 1;
    } else {
      static const char* kOps[] = {"**", "//", "==", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ".", ",",
                                   ":", "|", "~", "+", "-", "*", "/", "%", "<", ">", "="};
      bool found = false;
      for (const char* op : kOps) {
        const size_t n = std::char_traits<char>::length(op);
        if (s.compare(p, n, op) == 0) {
          out.push_back({Tok::kOp, op});
          p += n;
          found = true;
          break;
        }
      }
      if (!found) Fail(line, std::string("unexpected character '") + c + "'");
    }
  }
  out.push_back({Tok::kEnd, ""});
  return out;
}

struct Expr {
  enum Kind {
    kLiteral, kName, kList, kDict, kTuple, kAttr, kIndex, kSlice, kCall, kFilter, kTest,
    kNeg, kPos, kNot, kAnd, kOr, kBinary, kCond,
    kStarred  // *args in a call (its keyword name "**" for **kwargs)
  } kind;
  int line = 0;
  Value literal;
  std::string name;  // kName, kAttr, kFilter, kTest, kBinary (the operator)
  bool negated = false;  // kTest: "is not"
  std::vector<std::shared_ptr<Expr>> kids;  // operands, elements, slice parts (null = absent)
  std::vector<std::string> keywords;        // kCall / kFilter / kTest: names of the last kids
};
using ExprPtr = std::shared_ptr<Expr>;

const std::set<std::string> kFilters = {
    "length", "count", "tojson", "trim", "upper", "lower", "capitalize", "title", "first", "last", "default", "d",
    "join", "string", "int", "float", "list", "items", "reverse", "replace", "safe", "abs", "round", "unique",
    "selectattr", "rejectattr", "select", "reject", "map", "indent"};
const std::set<std::string> kTests = {
    "defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "mapping", "iterable",
    "sequence", "callable", "true", "false", "even", "odd", "eq", "equalto", "==", "ne", "!=", "lt", "<", "gt", ">",
    "le", "<=", "ge", ">=", "in", "lessthan", "greaterthan"};

class ExprParser {
 public:
  ExprParser(const std::string& text, int line) : toks_(Tokenize(text, line)), line_(line) {}

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
  ExprPtr Make(Expr::Kind k) {
    auto e = std::make_shared<Expr>();
    e->kind = k;
    e->line = line_;
    return e;
  }
  ExprPtr Binary(const std::string& op, ExprPtr a, ExprPtr b) {
    auto e = Make(Expr::kBinary);
    e->name = op;
    e->kids = {std::move(a), std::move(b)};
    return e;
  }

  ExprPtr Conditional() {
    auto e = Or();
    if (AcceptName("if")) {
      auto c = Make(Expr::kCond);
      auto cond = Or();
      ExprPtr otherwise = AcceptName("else") ? Conditional() : nullptr;
      c->kids = {e, cond, otherwise};
      return c;
    }
    return e;
  }
  ExprPtr Or() {
    auto e = And();
    while (AcceptName("or")) {
      auto o = Make(Expr::kOr);
      o->kids = {e, And()};
      e = o;
    }
    return e;
  }
  ExprPtr And() {
    auto e = Not();
    while (AcceptName("and")) {
      auto a = Make(Expr::kAnd);
      a->kids = {e, Not()};
      e = a;
    }
    return e;
  }
  ExprPtr Not() {
    if (AcceptName("not")) {
      auto n = Make(Expr::kNot);
      n->kids = {Not()};
      return n;
    }
    return Compare();
  }
  ExprPtr Compare() {
    auto e = Math1();
    while (true) {
      std::string op;
      for (const char* c : {"==", "!=", "<=", ">=", "<", ">"})
        if (IsOp(c)) op = c;
      if (!op.empty()) {
        ++p_;
      } else if (IsName("in")) {
        ++p_;
        op = "in";
      } else if (IsName("not") && toks_[p_ + 1].kind == Tok::kName && toks_[p_ + 1].text == "in") {
        p_ += 2;
        op = "not in";
      } else {
        return e;
      }
      e = Binary(op, e, Math1());
    }
  }
  ExprPtr Math1() {
    auto e = Concat();
    while (IsOp("+") || IsOp("-")) {
      const std::string op = toks_[p_++].text;
      e = Binary(op, e, Concat());
    }
    return e;
  }
  ExprPtr Concat() {
    auto e = Math2();
    while (Accept("~")) e = Binary("~", e, Math2());
    return e;
  }
  ExprPtr Math2() {
    auto e = Pow();
    while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
      const std::string op = toks_[p_++].text;
      e = Binary(op, e, Pow());
    }
    return e;
  }
  ExprPtr Pow() {
    auto e = Unary();
    while (Accept("**")) e = Binary("**", e, Unary());
    return e;
  }
  ExprPtr Unary() {
    if (Accept("-")) {
      auto n = Make(Expr::kNeg);
      n->kids = {Unary()};
      return FilterTail(n);
    }
    if (Accept("+")) {
      auto n = Make(Expr::kPos);
      n->kids = {Unary()};
      return FilterTail(n);
    }
    return FilterTail(Postfix(Primary()));
  }
  void Arguments(const ExprPtr& call) {
    // After "(": positional then keyword arguments, up to ")".
    std::vector<ExprPtr> positional, keyword;
    while (!Accept(")")) {
      if (Accept("**")) {  // **kwargs: a dict spread into keyword arguments
        call->keywords.push_back("**");
        auto spread = Make(Expr::kStarred);
        spread->kids = {ParseExpression()};
        keyword.push_back(spread);
      } else if (Accept("*")) {  // *args: a list spread into positional arguments
        if (!keyword.empty()) Fail(line_, "*args follows a keyword argument");
        auto spread = Make(Expr::kStarred);
        spread->kids = {ParseExpression()};
        positional.push_back(spread);
      } else if (toks_[p_].kind == Tok::kName && toks_[p_ + 1].kind == Tok::kOp && toks_[p_ + 1].text == "=") {
        call->keywords.push_back(toks_[p_].text);
        p_ += 2;
        keyword.push_back(ParseExpression());
      } else {
        if (!keyword.empty()) Fail(line_, "a positional argument follows a keyword argument");
        positional.push_back(ParseExpression());
      }
      if (!IsOp(")")) Expect(",");
    }
    for (auto& k : positional) call->kids.push_back(k);
    for (auto& k : keyword) call->kids.push_back(k);
  }
  ExprPtr FilterTail(ExprPtr e) {
    while (true) {
      if (Accept("|")) {
        auto f = Make(Expr::kFilter);
        f->name = ExpectName();
        if (!kFilters.count(f->name)) Fail(line_, "filter '" + f->name + "' is not supported");
        f->kids.push_back(e);
        if (Accept("(")) Arguments(f);
        e = f;
      } else if (AcceptName("is")) {
        auto t = Make(Expr::kTest);
        t->negated = AcceptName("not");
        if (toks_[p_].kind == Tok::kName) t->name = toks_[p_++].text;
        else if (toks_[p_].kind == Tok::kOp) t->name = toks_[p_++].text;
        if (!kTests.count(t->name)) Fail(line_, "test '" + t->name + "' is not supported");
        t->kids.push_back(e);
        if (Accept("(")) {
          Arguments(t);
        } else if (!AtEnd() && (toks_[p_].kind == Tok::kString || toks_[p_].kind == Tok::kInt ||
                                toks_[p_].kind == Tok::kFloat ||
                                (toks_[p_].kind == Tok::kName && !IsName("and") && !IsName("or") &&
                                 !IsName("else") && !IsName("if") && !IsName("is") && !IsName("in") &&
                                 !IsName("not")))) {
          t->kids.push_back(Postfix(Primary()));  // "is divisibleby 3", "is equalto x"
        }
        e = t;
      } else {
        return e;
      }
    }
  }
  ExprPtr Postfix(ExprPtr e) {
    while (true) {
      if (Accept(".")) {
        auto a = Make(Expr::kAttr);
        if (toks_[p_].kind == Tok::kInt) a->name = toks_[p_++].text;
        else a->name = ExpectName();
        a->kids = {e};
        e = a;
      } else if (Accept("[")) {
        ExprPtr parts[3] = {nullptr, nullptr, nullptr};
        int part = 0;
        bool slice = false;
        while (!Accept("]")) {
          if (Accept(":")) {
            slice = true;
            if (++part > 2) Fail(line_, "a slice has at most three parts");
            continue;
          }
          parts[part] = ParseExpression();
        }
        auto ix = Make(slice ? Expr::kSlice : Expr::kIndex);
        ix->kids = {e, parts[0], parts[1], parts[2]};
        if (!slice && !parts[0]) Fail(line_, "empty subscript");
        e = ix;
      } else if (Accept("(")) {
        auto c = Make(Expr::kCall);
        c->kids.push_back(e);
        Arguments(c);
        e = c;
      } else {
        return e;
      }
    }
  }
  ExprPtr Primary() {
    const Tok t = toks_[p_];
    if (t.kind == Tok::kEnd) Fail(line_, "unexpected end of expression");
    ++p_;
    if (t.kind == Tok::kString) {
      std::string s = t.text;
      while (toks_[p_].kind == Tok::kString) s += toks_[p_++].text;  // adjacent literals join
      auto e = Make(Expr::kLiteral);
      e->literal = Value(s);
      return e;
    }
    if (t.kind == Tok::kInt || t.kind == Tok::kFloat) {
      auto e = Make(Expr::kLiteral);
      e->literal = t.kind == Tok::kInt ? Value(static_cast<int64_t>(std::stoll(t.text))) : Value(std::stod(t.text));
      return e;
    }
    if (t.kind == Tok::kName) {
      auto e = Make(Expr::kLiteral);
      if (t.text == "true" || t.text == "True") e->literal = Value(true);
      else if (t.text == "false" || t.text == "False") e->literal = Value(false);
      else if (t.text == "none" || t.text == "None") e->literal = Value::None();
      else {
        e->kind = Expr::kName;
        e->name = t.text;
      }
      return e;
    }
    if (t.text == "(") {
      if (Accept(")")) return Make(Expr::kTuple);
      auto e = ParseExpression();
      if (IsOp(",")) {
        auto tuple = Make(Expr::kTuple);
        tuple->kids.push_back(e);
        while (Accept(",") && !IsOp(")")) tuple->kids.push_back(ParseExpression());
        e = tuple;
      }
      Expect(")");
      return e;
    }
    if (t.text == "[") {
      auto l = Make(Expr::kList);
      while (!Accept("]")) {
        l->kids.push_back(ParseExpression());
        if (!IsOp("]")) Expect(",");
      }
      return l;
    }
    if (t.text == "{") {
      auto d = Make(Expr::kDict);
      while (!Accept("}")) {
        d->kids.push_back(ParseExpression());
        Expect(":");
        d->kids.push_back(ParseExpression());
        if (!IsOp("}")) Expect(",");
      }
      return d;
    }
    Fail(line_, "unexpected '" + t.text + "'");
  }

  std::vector<Tok> toks_;
  size_t p_ = 0;
  int line_;
};

}  // namespace

// ---- 3. Statements ----

struct Template::Node {
  enum Kind { kBody, kText, kOutput, kIf, kFor, kSet, kSetBlock, kMacro, kCallBlock, kBreak, kContinue } kind;
  int line = 0;
  std::string text;                       // kText
  ExprPtr expr;                           // kOutput, kFor (iterable), kSet (value), kCallBlock (the call)
  std::vector<std::pair<ExprPtr, std::shared_ptr<Node>>> branches;  // kIf: (condition, body)
  std::shared_ptr<Node> otherwise;        // kIf / kFor else
  std::shared_ptr<Node> body;             // kFor, kSetBlock, kMacro, kCallBlock (what caller() renders)
  ExprPtr filter;                         // kFor "if"
  std::vector<std::string> targets;       // kFor / kSet names; kMacro / kCallBlock parameters
  std::vector<ExprPtr> defaults;          // kMacro: each parameter's default (null: none)
  std::string attr;                       // kSet / kSetBlock on a namespace: targets[0].attr
  std::string name;                       // kMacro
  std::vector<std::shared_ptr<Node>> children;  // kBody
};

namespace {

using NodePtr = std::shared_ptr<Template::Node>;

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
      if (p.Accept(".")) n->attr = p.ExpectName();
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

// ---- 4. Rendering ----

enum class Flow { kNormal, kBreak, kContinue };

// CallArgs::Arg's index for an argument that can only be passed by name.
constexpr size_t kKeywordOnly = static_cast<size_t>(-1);

std::string PyStrip(const std::string& s, const Value& chars, bool left, bool right) {
  const auto strip_char = [&](char c) {
    if (chars.is_string()) return chars.s().find(c) != std::string::npos;
    return IsSpace(c) || c == '\x1c' || c == '\x1d' || c == '\x1e' || c == '\x1f';
  };
  size_t b = 0, e = s.size();
  if (left)
    while (b < e && strip_char(s[b])) ++b;
  if (right)
    while (e > b && strip_char(s[e - 1])) --e;
  return s.substr(b, e - b);
}

std::vector<std::string> PySplit(const std::string& s, const Value& sep, int64_t max_split) {
  std::vector<std::string> out;
  if (!sep.is_string()) {  // whitespace runs, no empty parts
    size_t p = 0;
    while (p < s.size()) {
      while (p < s.size() && IsSpace(s[p])) ++p;
      if (p >= s.size()) break;
      if (max_split >= 0 && static_cast<int64_t>(out.size()) == max_split) {
        out.push_back(PyStrip(s.substr(p), Value(), false, true));
        break;
      }
      size_t e = p;
      while (e < s.size() && !IsSpace(s[e])) ++e;
      out.push_back(s.substr(p, e - p));
      p = e;
    }
    return out;
  }
  const std::string& d = sep.s();
  if (d.empty()) throw TemplateError("split: empty separator");
  size_t p = 0;
  for (size_t at; (at = s.find(d, p)) != std::string::npos &&
                  (max_split < 0 || static_cast<int64_t>(out.size()) < max_split);
       p = at + d.size())
    out.push_back(s.substr(p, at - p));
  out.push_back(s.substr(p));
  return out;
}

// Python's str.splitlines(): \n, \r\n, \r, \v, \f, \x1c-\x1e, U+0085,
// U+2028 and U+2029 end a line; the ends are dropped.
std::vector<std::string> PySplitLines(const std::string& s) {
  std::vector<std::string> lines;
  std::string line;
  for (size_t k = 0; k < s.size(); ++k) {
    const unsigned char c = static_cast<unsigned char>(s[k]);
    size_t end = 0;  // bytes of a line end at k
    if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e)) end = 1;
    else if (c == '\r') end = k + 1 < s.size() && s[k + 1] == '\n' ? 2 : 1;
    else if (c == 0xc2 && k + 1 < s.size() && static_cast<unsigned char>(s[k + 1]) == 0x85) end = 2;
    else if (c == 0xe2 && k + 2 < s.size() && static_cast<unsigned char>(s[k + 1]) == 0x80 &&
             (static_cast<unsigned char>(s[k + 2]) == 0xa8 || static_cast<unsigned char>(s[k + 2]) == 0xa9))
      end = 3;
    if (end == 0) {
      line += s[k];
      continue;
    }
    lines.push_back(std::move(line));
    line.clear();
    k += end - 1;
  }
  if (!line.empty()) lines.push_back(std::move(line));
  return lines;
}

// Jinja2's indent filter: every line but the first (and the first too when
// `first`) gets `width` spaces (or the string `width`); blank lines only when
// `blank`.
std::string Indent(std::string s, const Value& width, bool first, bool blank) {
  const std::string pad = width.is_string() ? width.s()
                                            : std::string(width.is_number() ? static_cast<size_t>(width.AsDouble()) : 4, ' ');
  s += '\n';  // as Jinja2 does, so that a final newline survives splitlines
  const std::vector<std::string> lines = PySplitLines(s);
  std::string out;
  for (size_t k = 0; k < lines.size(); ++k) {
    if (k > 0) out += '\n';
    if (k == 0 ? first : blank || !lines[k].empty()) out += pad;
    out += lines[k];
  }
  return out;
}

std::string PyTitle(const std::string& s, bool capitalize_only) {
  std::string out = s;
  bool start = true;
  for (size_t i = 0; i < out.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(out[i]);
    if (capitalize_only) {
      out[i] = static_cast<char>(i == 0 ? std::toupper(c) : std::tolower(c));
      continue;
    }
    if (std::isalpha(c)) {
      out[i] = static_cast<char>(start ? std::toupper(c) : std::tolower(c));
      start = false;
    } else {
      start = c < 0x80;
    }
  }
  return out;
}

// Simple Unicode case mapping per code point (Python's str.upper / lower
// apart from the few one-to-many mappings such as "ß" -> "SS").
std::string Upper(const std::string& s, bool up) {
  std::string out;
  utf8proc_ssize_t at = 0;
  const auto* bytes = reinterpret_cast<const utf8proc_uint8_t*>(s.data());
  while (at < static_cast<utf8proc_ssize_t>(s.size())) {
    utf8proc_int32_t cp = 0;
    const utf8proc_ssize_t n = utf8proc_iterate(bytes + at, static_cast<utf8proc_ssize_t>(s.size()) - at, &cp);
    if (n <= 0) {  // not UTF-8: keep the byte
      out += s[static_cast<size_t>(at++)];
      continue;
    }
    utf8proc_uint8_t buf[4];
    const utf8proc_ssize_t m = utf8proc_encode_char(up ? utf8proc_toupper(cp) : utf8proc_tolower(cp), buf);
    out.append(reinterpret_cast<const char*>(buf), static_cast<size_t>(m));
    at += n;
  }
  return out;
}

// Python's str.replace(old, new): every occurrence, left to right; an empty
// `old` changes nothing here.
std::string ReplaceAll(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); !from.empty() && p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

// Python's len() of a str counts code points.
int64_t CodePoints(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

List Iterate(const Value& v, int line) {
  switch (v.kind()) {
    case Value::Kind::kList: return v.list();
    case Value::Kind::kDict:
    case Value::Kind::kNamespace: {
      List keys;
      for (const auto& [k, x] : v.dict()) keys.push_back(Value(k));
      return keys;
    }
    case Value::Kind::kString: {
      List chars;
      const std::string& s = v.s();
      for (size_t i = 0; i < s.size();) {
        size_t n = 1;
        while (i + n < s.size() && (static_cast<unsigned char>(s[i + n]) & 0xC0) == 0x80) ++n;
        chars.push_back(Value(s.substr(i, n)));
        i += n;
      }
      return chars;
    }
    case Value::Kind::kUndefined: return {};
    default: Fail(line, std::string("a ") + v.KindName() + " is not iterable");
  }
}

class Renderer {
 public:
  explicit Renderer(const Value& context) {
    globals_ = context;
    scopes_.emplace_back();
  }

  Flow Run(const Template::Node& n, std::string& out) {
    switch (n.kind) {
      case Template::Node::kBody:
        for (const auto& c : n.children) {
          const Flow f = Run(*c, out);
          if (f != Flow::kNormal) return f;
        }
        return Flow::kNormal;
      case Template::Node::kText: out += n.text; return Flow::kNormal;
      case Template::Node::kOutput: {
        const Value v = Eval(*n.expr);
        out += v.Str();
        return Flow::kNormal;
      }
      case Template::Node::kIf:
        for (const auto& [cond, body] : n.branches)
          if (Eval(*cond).Truthy()) return Run(*body, out);
        return n.otherwise ? Run(*n.otherwise, out) : Flow::kNormal;
      case Template::Node::kFor: return RunFor(n, out);
      case Template::Node::kSet: {
        const Value v = Eval(*n.expr);
        if (!n.attr.empty()) {
          const Value ns = Lookup(n.targets[0]);
          if (ns.kind() != Value::Kind::kNamespace)
            Fail(n.line, "cannot set an attribute of " + n.targets[0] + ", which is not a namespace()");
          ns.Set(n.attr, v);
        } else {
          Assign(n.targets, v, n.line);
        }
        return Flow::kNormal;
      }
      case Template::Node::kSetBlock: {
        std::string text;
        Run(*n.body, text);
        Assign(n.targets, Value(std::move(text)), n.line);
        return Flow::kNormal;
      }
      case Template::Node::kMacro:
        scopes_.back()[n.name] = Value::Callable([this, &n](const CallArgs& a) { return CallMacro(n, a); });
        return Flow::kNormal;
      case Template::Node::kCallBlock: {
        out += CallWithCaller(n).Str();
        return Flow::kNormal;
      }
      case Template::Node::kBreak: return Flow::kBreak;
      case Template::Node::kContinue: return Flow::kContinue;
    }
    return Flow::kNormal;
  }

 private:
  using Scope = std::unordered_map<std::string, Value>;

  // Makes `frames` the live scopes while it exists (restored also on an
  // error): macros, their defaults and caller() run in frames of their own.
  class SwappedScopes {
   public:
    SwappedScopes(std::vector<Scope>& live, std::vector<Scope>& frames) : live_(live), other_(frames) {
      std::swap(live_, other_);
    }
    ~SwappedScopes() { std::swap(live_, other_); }

   private:
    std::vector<Scope>& live_;
    std::vector<Scope>& other_;
  };

  // Renders `body` in the scopes `scopes`.
  std::string RenderIn(std::vector<Scope> scopes, const Template::Node& body) {
    SwappedScopes swapped(scopes_, scopes);
    std::string out;
    Run(body, out);
    return out;
  }

  // Binds a macro's or caller's parameters from a call into a new frame, as
  // Python binds a function's: positional, then by name, then defaults
  // (evaluated in that frame, so a default may read an earlier parameter).
  Scope BindParameters(const Template::Node& n, const std::string& what, const CallArgs& a,
                       std::vector<Scope> scopes) {
    if (a.positional.size() > n.targets.size())
      Fail(n.line, what + " takes not more than " + std::to_string(n.targets.size()) + " argument(s)");
    Scope frame;
    for (size_t k = 0; k < a.positional.size(); ++k) frame[n.targets[k]] = a.positional[k];
    for (const auto& [key, v] : a.keyword) {
      if (key == "caller" && n.kind == Template::Node::kMacro) {
        frame["caller"] = v;
        continue;
      }
      if (std::find(n.targets.begin(), n.targets.end(), key) == n.targets.end())
        Fail(n.line, what + " takes no keyword argument '" + key + "'");
      frame[key] = v;
    }
    for (size_t k = 0; k < n.targets.size(); ++k) {
      if (frame.count(n.targets[k])) continue;
      if (!n.defaults[k]) {
        frame[n.targets[k]] = Value::Undefined("parameter '" + n.targets[k] + "' was not passed to " + what);
        continue;
      }
      scopes.push_back(frame);
      {
        SwappedScopes swapped(scopes_, scopes);
        frame[n.targets[k]] = Eval(*n.defaults[k]);
      }
      scopes.pop_back();
    }
    return frame;
  }

  // A macro sees the template's top-level variables as they are when it is
  // called, its parameters, and caller() when called from {% call %}; what
  // it sets stays inside it. Its value is the text it renders.
  Value CallMacro(const Template::Node& n, const CallArgs& a) {
    // A macro that calls itself without end fails here, not on the stack.
    if (macro_depth_ >= kMaxMacroDepth)
      Fail(n.line, "macro '" + n.name + "': calls nested deeper than " + std::to_string(kMaxMacroDepth));
    struct Depth {
      int& d;
      ~Depth() { --d; }
    } depth{++macro_depth_};
    std::vector<Scope> scopes = {scopes_.front()};
    scopes.push_back(BindParameters(n, "macro '" + n.name + "'", a, scopes));
    return Value(RenderIn(std::move(scopes), *n.body));
  }

  // {% call m(args) %}body{% endcall %}: m(args, caller=...) where caller()
  // renders body in the scopes of the call site.
  Value CallWithCaller(const Template::Node& n) {
    const std::vector<Scope> site = scopes_;
    const Value caller = Value::Callable([this, &n, site](const CallArgs& args) {
      std::vector<Scope> scopes = site;
      scopes.push_back(BindParameters(n, "caller()", args, site));
      return Value(RenderIn(std::move(scopes), *n.body));
    });
    return Invoke(*n.expr, &caller);
  }

  void Assign(const std::vector<std::string>& names, const Value& v, int line) {
    if (names.size() == 1) {
      scopes_.back()[names[0]] = v;
      return;
    }
    const List parts = Iterate(v, line);
    if (parts.size() != names.size())
      Fail(line, "cannot unpack " + std::to_string(parts.size()) + " values into " + std::to_string(names.size()));
    for (size_t k = 0; k < names.size(); ++k) scopes_.back()[names[k]] = parts[k];
  }

  Flow RunFor(const Template::Node& n, std::string& out) {
    List items = Iterate(Eval(*n.expr), n.line);
    if (n.filter) {
      List kept;
      for (const auto& item : items) {
        scopes_.emplace_back();
        Assign(n.targets, item, n.line);
        if (Eval(*n.filter).Truthy()) kept.push_back(item);
        scopes_.pop_back();
      }
      items = std::move(kept);
    }
    if (items.empty()) return n.otherwise ? Run(*n.otherwise, out) : Flow::kNormal;
    const int64_t length = static_cast<int64_t>(items.size());
    for (int64_t k = 0; k < length; ++k) {
      scopes_.emplace_back();
      Assign(n.targets, items[static_cast<size_t>(k)], n.line);
      Dict loop = {{"index", Value(k + 1)},
                   {"index0", Value(k)},
                   {"revindex", Value(length - k)},
                   {"revindex0", Value(length - k - 1)},
                   {"first", Value(k == 0)},
                   {"last", Value(k == length - 1)},
                   {"length", Value(length)},
                   {"previtem", k > 0 ? items[static_cast<size_t>(k - 1)] : Value()},
                   {"nextitem", k + 1 < length ? items[static_cast<size_t>(k + 1)] : Value()}};
      scopes_.back()["loop"] = Value(std::move(loop));
      const Flow f = Run(*n.body, out);
      scopes_.pop_back();
      if (f == Flow::kBreak) break;
    }
    return Flow::kNormal;
  }

  Value Lookup(const std::string& name) const {
    for (auto it = scopes_.rbegin(); it != scopes_.rend(); ++it) {
      const auto f = it->find(name);
      if (f != it->end()) return f->second;
    }
    const Value g = globals_.Get(name);
    if (!g.is_undefined()) return g;
    const Value b = Builtin(name);
    return b.is_undefined() ? Value::Undefined("'" + name + "' is undefined") : b;
  }

  static Value Builtin(const std::string& name) {
    if (name == "namespace" || name == "dict")
      return Value::Callable([kind = name](const CallArgs& a) {
        Dict d;
        if (!a.positional.empty() && a.positional[0].is_mapping()) d = a.positional[0].dict();
        for (const auto& [k, v] : a.keyword) d.emplace_back(k, v);
        return kind == "namespace" ? Value::Namespace(std::move(d)) : Value(std::move(d));
      });
    if (name == "raise_exception")
      return Value::Callable([](const CallArgs& a) -> Value {
        throw TemplateError("raise_exception: " + a.Arg(0, "message").Str());
      });
    if (name == "range")
      return Value::Callable([](const CallArgs& a) {
        int64_t start = 0, stop = 0, step = 1;
        if (a.positional.size() == 1) stop = a.positional[0].i();
        else if (a.positional.size() >= 2) start = a.positional[0].i(), stop = a.positional[1].i();
        if (a.positional.size() >= 3) step = a.positional[2].i();
        if (step == 0) throw TemplateError("range: step must not be 0");
        List l;
        for (int64_t v = start; step > 0 ? v < stop : v > stop; v += step) l.push_back(Value(v));
        return Value(std::move(l));
      });
    if (name == "strftime_now")
      return Value::Callable([](const CallArgs& a) {
        const std::time_t now = std::time(nullptr);
        std::tm tm{};
        localtime_r(&now, &tm);
        char buf[256];
        const size_t n = std::strftime(buf, sizeof buf, a.Arg(0, "format").Str().c_str(), &tm);
        return Value(std::string(buf, n));
      });
    return Value();
  }

  Value Eval(const Expr& e) {
    switch (e.kind) {
      case Expr::kLiteral: return e.literal;
      case Expr::kName: return Lookup(e.name);
      case Expr::kList:
      case Expr::kTuple: {
        List l;
        for (const auto& k : e.kids) l.push_back(Eval(*k));
        return Value(std::move(l));
      }
      case Expr::kDict: {
        Dict d;
        for (size_t k = 0; k + 1 < e.kids.size(); k += 2) {
          const std::string key = Eval(*e.kids[k]).Str();
          Value value = Eval(*e.kids[k + 1]);
          auto it = std::find_if(d.begin(), d.end(), [&](const auto& kv) { return kv.first == key; });
          if (it != d.end()) it->second = std::move(value);
          else d.emplace_back(key, std::move(value));
        }
        return Value(std::move(d));
      }
      case Expr::kAttr: return Attribute(Eval(*e.kids[0]), e.name, e);
      case Expr::kIndex: return Index(Eval(*e.kids[0]), Eval(*e.kids[1]), e);
      case Expr::kSlice: return Slice(e);
      case Expr::kCall: return Invoke(e);
      case Expr::kFilter: return Filter(e);
      case Expr::kTest: {
        const bool r = Test(e);
        return Value(e.negated ? !r : r);
      }
      case Expr::kNeg: {
        const Value v = Number(Eval(*e.kids[0]), e);
        return v.kind() == Value::Kind::kInt ? Value(-v.i()) : Value(-v.AsDouble());
      }
      case Expr::kPos: return Number(Eval(*e.kids[0]), e);
      case Expr::kNot: return Value(!Eval(*e.kids[0]).Truthy());
      case Expr::kAnd: {
        const Value a = Eval(*e.kids[0]);
        return a.Truthy() ? Eval(*e.kids[1]) : a;
      }
      case Expr::kOr: {
        const Value a = Eval(*e.kids[0]);
        return a.Truthy() ? a : Eval(*e.kids[1]);
      }
      case Expr::kCond:
        if (Eval(*e.kids[1]).Truthy()) return Eval(*e.kids[0]);
        return e.kids[2] ? Eval(*e.kids[2]) : Value();
      case Expr::kBinary: return BinaryOp(e);
      case Expr::kStarred: Fail(e.line, "*args outside a call's arguments");
    }
    return Value();
  }

  // The call `e` (a kCall), with `caller` as its keyword argument when given
  // ({% call %}). Errors from inside the callee say where the call is.
  Value Invoke(const Expr& e, const Value* caller = nullptr) {
    const Value f = Eval(*e.kids[0]);
    if (f.is_undefined()) Fail(e.line, "cannot call an undefined value" + Why(f, *e.kids[0]));
    if (f.kind() != Value::Kind::kFunction) Fail(e.line, DescribeCallee(*e.kids[0]) + " is not callable");
    CallArgs a = Arguments(e, 1);
    if (caller) a.keyword.emplace_back("caller", *caller);
    try {
      return f.function()(a);
    } catch (const TemplateError& err) {
      if (std::string(err.what()).rfind("chat template line", 0) == 0) throw;
      Fail(e.line, err.what());  // raise_exception and builtins: say where
    }
  }

  static std::string DescribeCallee(const Expr& e) {
    if (e.kind == Expr::kName) return "'" + e.name + "'";
    if (e.kind == Expr::kAttr) return "'." + e.name + "'";
    return "the value";
  }

  CallArgs Arguments(const Expr& e, size_t first) {
    CallArgs a;
    const size_t n_kw = e.keywords.size();
    const size_t n_pos = e.kids.size() - first - n_kw;
    for (size_t k = 0; k < n_pos; ++k) {
      const Expr& arg = *e.kids[first + k];
      if (arg.kind != Expr::kStarred) {
        a.positional.push_back(Eval(arg));
        continue;
      }
      for (const auto& x : Iterate(Eval(*arg.kids[0]), e.line)) a.positional.push_back(x);
    }
    for (size_t k = 0; k < n_kw; ++k) {
      const Expr& arg = *e.kids[first + n_pos + k];
      if (arg.kind != Expr::kStarred) {
        a.keyword.emplace_back(e.keywords[k], Eval(arg));
        continue;
      }
      const Value d = Eval(*arg.kids[0]);
      if (!d.is_mapping()) Fail(e.line, std::string("**kwargs needs a dict, got a ") + d.KindName());
      for (const auto& [key, v] : d.dict()) a.keyword.emplace_back(key, v);
    }
    return a;
  }

  Value Number(const Value& v, const Expr& e) { return Number(v, e.line); }
  static Value Number(const Value& v, int line) {
    if (v.is_number()) return v;
    if (v.kind() == Value::Kind::kBool) return Value(static_cast<int64_t>(v.b()));
    Fail(line, std::string("expected a number, got a ") + v.KindName() + Why(v));
  }

  Value Attribute(const Value& obj, const std::string& name, const Expr& e) {
    if (obj.is_undefined()) Fail(e.line, "cannot read '." + name + "' of an undefined value" + Why(obj, *e.kids[0]));
    if (obj.is_string()) return StringMethod(obj.s(), name);
    if (obj.kind() == Value::Kind::kDict) {
      if (name == "items" || name == "keys" || name == "values" || name == "get")
        return Value::Callable([obj, name](const CallArgs& a) {
          if (name == "get") {
            const Value v = obj.Get(a.Arg(0, "key").Str());
            return v.is_undefined() ? (a.positional.size() > 1 ? a.positional[1] : Value::None()) : v;
          }
          List l;
          for (const auto& [k, v] : obj.dict())
            l.push_back(name == "items" ? Value(List{Value(k), v}) : name == "keys" ? Value(k) : v);
          return Value(std::move(l));
        });
    }
    return Item(obj, KeyOf(name));
  }

  // An attribute name as a key: digits (x.0, selectattr('a.1')) index a list.
  static Value KeyOf(const std::string& name) {
    const bool digits = !name.empty() && name.size() < 19 &&
                        std::all_of(name.begin(), name.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
    return digits ? Value(static_cast<int64_t>(std::stoll(name))) : Value(name);
  }

  // Python's type name as Jinja2 writes it in messages.
  static std::string ObjectName(const Value& v) {
    switch (v.kind()) {
      case Value::Kind::kDict: return "dict object";
      case Value::Kind::kNamespace: return "jinja2.utils.Namespace object";
      case Value::Kind::kList: return "list object";
      case Value::Kind::kString: return "str object";
      case Value::Kind::kInt: return "int object";
      case Value::Kind::kFloat: return "float object";
      case Value::Kind::kBool: return "bool object";
      case Value::Kind::kNone: return "None";
      default: return std::string(v.KindName()) + " object";
    }
  }

  // obj[key] or obj.key as Jinja2's sandbox reads them: a missing key, an
  // index out of range or of the wrong type is undefined, saying why in
  // Jinja2's words.
  static Value Item(const Value& obj, const Value& key) {
    if (obj.is_mapping()) {
      const Value v = key.is_string() ? obj.Get(key.s()) : Value();
      if (!v.is_undefined()) return v;
    } else if ((obj.is_list() || obj.is_string()) && key.kind() == Value::Kind::kInt) {
      const List items = obj.is_list() ? obj.list() : Iterate(obj, 0);
      int64_t k = key.i();
      if (k < 0) k += static_cast<int64_t>(items.size());
      if (k >= 0 && k < static_cast<int64_t>(items.size())) return items[static_cast<size_t>(k)];
    }
    if (key.is_string()) return Value::Undefined("'" + ObjectName(obj) + "' has no attribute '" + key.s() + "'");
    return Value::Undefined(ObjectName(obj) + " has no element " + key.Repr());
  }

  // " (why v is undefined)", or "" when v is not undefined.
  static std::string Why(const Value& v) {
    return v.UndefinedWhy().empty() ? std::string() : " (" + v.UndefinedWhy() + ")";
  }
  // The same, naming the expression when the value does not say.
  static std::string Why(const Value& v, const Expr& e) {
    if (!v.UndefinedWhy().empty()) return Why(v);
    if (e.kind == Expr::kName || e.kind == Expr::kAttr) return " ('" + e.name + "' is undefined)";
    return "";
  }

  // A method of str, or undefined for any other name (as Jinja2 reads
  // 'abc'.type); calling that fails saying so.
  static Value StringMethod(const std::string& s, const std::string& name) {
    static const std::set<std::string> kMethods = {"startswith", "endswith", "split", "rsplit", "strip", "lstrip",
                                                   "rstrip", "upper", "lower", "title", "capitalize", "replace",
                                                   "find", "count", "isdigit", "isspace"};
    if (!kMethods.count(name)) return Value::Undefined("'str object' has no attribute '" + name + "'");
    return Value::Callable([s, name](const CallArgs& a) -> Value {
      if (name == "startswith" || name == "endswith") {
        const Value arg = a.Arg(0, "prefix");
        List options = arg.is_list() ? arg.list() : List{arg};
        for (const auto& o : options) {
          const std::string& p = o.Str();
          const bool hit = name == "startswith" ? s.rfind(p, 0) == 0
                                                : s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
          if (hit) return Value(true);
        }
        return Value(false);
      }
      if (name == "split" || name == "rsplit") {
        const Value max = a.Arg(1, "maxsplit");
        List l;
        for (auto& part : PySplit(s, a.Arg(0, "sep"), max.is_number() ? max.i() : -1)) l.push_back(Value(part));
        return Value(std::move(l));
      }
      if (name == "strip") return Value(PyStrip(s, a.Arg(0, "chars"), true, true));
      if (name == "lstrip") return Value(PyStrip(s, a.Arg(0, "chars"), true, false));
      if (name == "rstrip") return Value(PyStrip(s, a.Arg(0, "chars"), false, true));
      if (name == "upper" || name == "lower") return Value(Upper(s, name == "upper"));
      if (name == "title" || name == "capitalize") return Value(PyTitle(s, name == "capitalize"));
      if (name == "replace") return Value(ReplaceAll(s, a.Arg(0, "old").Str(), a.Arg(1, "new").Str()));
      if (name == "find") {
        const size_t p = s.find(a.Arg(0, "sub").Str());
        return Value(p == std::string::npos ? int64_t{-1} : CodePoints(s.substr(0, p)));
      }
      if (name == "count") {
        const std::string sub = a.Arg(0, "sub").Str();
        int64_t n = 0;
        for (size_t p = s.find(sub); !sub.empty() && p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
        return Value(n);
      }
      if (name == "isdigit")
        return Value(!s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }));
      return Value(!s.empty() && std::all_of(s.begin(), s.end(), IsSpace));
    });
  }

  Value Index(const Value& obj, const Value& key, const Expr& e) {
    if (obj.is_undefined()) Fail(e.line, "cannot index an undefined value" + Why(obj, *e.kids[0]));
    if (obj.is_string() && key.is_string()) return StringMethod(obj.s(), key.s());
    return Item(obj, key);
  }

  Value Slice(const Expr& e) {
    const Value obj = Eval(*e.kids[0]);
    if (!obj.is_list() && !obj.is_string()) Fail(e.line, std::string("a ") + obj.KindName() + " cannot be sliced");
    const List items = Iterate(obj, e.line);
    const int64_t n = static_cast<int64_t>(items.size());
    const auto part = [&](size_t k) -> std::optional<int64_t> {
      if (!e.kids[k]) return std::nullopt;
      const Value v = Eval(*e.kids[k]);
      if (v.is_none()) return std::nullopt;
      if (v.kind() != Value::Kind::kInt) Fail(e.line, "slice bounds must be integers");
      return v.i();
    };
    const int64_t step = part(3).value_or(1);
    if (step == 0) Fail(e.line, "slice step cannot be zero");
    const auto clamp = [&](std::optional<int64_t> v, int64_t dflt, int64_t lo, int64_t hi) {
      if (!v) return dflt;
      int64_t x = *v < 0 ? *v + n : *v;
      return std::clamp(x, lo, hi);
    };
    const int64_t start = step > 0 ? clamp(part(1), 0, 0, n) : clamp(part(1), n - 1, -1, n - 1);
    const int64_t stop = step > 0 ? clamp(part(2), n, 0, n) : clamp(part(2), -1, -1, n - 1);
    List out;
    for (int64_t k = start; step > 0 ? k < stop : k > stop; k += step) out.push_back(items[static_cast<size_t>(k)]);
    if (obj.is_list()) return Value(std::move(out));
    std::string s;
    for (const auto& c : out) s += c.s();
    return Value(s);
  }

  Value BinaryOp(const Expr& e) {
    const std::string& op = e.name;
    const Value a = Eval(*e.kids[0]), b = Eval(*e.kids[1]);
    if (op == "==") return Value(a == b);
    if (op == "!=") return Value(!(a == b));
    if (op == "in" || op == "not in") {
      bool found = false;
      if (b.is_string()) {
        if (!a.is_string()) Fail(e.line, "'in <string>' needs a string on the left");
        found = b.s().find(a.s()) != std::string::npos;
      } else if (b.is_list()) {
        found = std::any_of(b.list().begin(), b.list().end(), [&](const Value& x) { return x == a; });
      } else if (b.is_mapping()) {
        found = !b.Get(a.Str()).is_undefined();
      } else if (!b.is_undefined()) {  // in an undefined value: nothing is (it iterates empty)
        Fail(e.line, std::string("'in' needs a string, list or dict on the right, got a ") + b.KindName());
      }
      return Value(op == "in" ? found : !found);
    }
    if (op == "~") return Value(a.Str() + b.Str());
    if (op == "<" || op == ">" || op == "<=" || op == ">=") {
      int c = 0;
      if (a.is_string() && b.is_string()) c = a.s().compare(b.s());
      else {
        const double x = Number(a, e).AsDouble(), y = Number(b, e).AsDouble();
        c = x < y ? -1 : x > y ? 1 : 0;
      }
      return Value(op == "<" ? c < 0 : op == ">" ? c > 0 : op == "<=" ? c <= 0 : c >= 0);
    }
    if (op == "+") {
      if (a.is_string() && b.is_string()) return Value(a.s() + b.s());
      if (a.is_list() && b.is_list()) {
        List l = a.list();
        l.insert(l.end(), b.list().begin(), b.list().end());
        return Value(std::move(l));
      }
      if ((a.is_string() || b.is_string()) || a.is_undefined() || b.is_undefined())
        Fail(e.line, std::string("cannot add a ") + a.KindName() + " and a " + b.KindName() + Why(a) + Why(b));
    }
    if (op == "*" && a.is_string() && b.kind() == Value::Kind::kInt) {
      std::string s;
      for (int64_t k = 0; k < b.i(); ++k) s += a.s();
      return Value(s);
    }
    const Value x = Number(a, e), y = Number(b, e);
    const bool ints = x.kind() == Value::Kind::kInt && y.kind() == Value::Kind::kInt;
    if (op == "+") return ints ? Value(x.i() + y.i()) : Value(x.AsDouble() + y.AsDouble());
    if (op == "-") return ints ? Value(x.i() - y.i()) : Value(x.AsDouble() - y.AsDouble());
    if (op == "*") return ints ? Value(x.i() * y.i()) : Value(x.AsDouble() * y.AsDouble());
    if (op == "/") {
      if (y.AsDouble() == 0) Fail(e.line, "division by zero");
      return Value(x.AsDouble() / y.AsDouble());
    }
    if (op == "//" || op == "%") {
      if (y.AsDouble() == 0) Fail(e.line, "division by zero");
      if (ints) {
        const int64_t q = x.i() / y.i() - ((x.i() % y.i() != 0) && ((x.i() < 0) != (y.i() < 0)));
        return op == "//" ? Value(q) : Value(x.i() - q * y.i());
      }
      const double q = std::floor(x.AsDouble() / y.AsDouble());
      return op == "//" ? Value(q) : Value(x.AsDouble() - q * y.AsDouble());
    }
    if (op == "**") {
      if (ints && y.i() >= 0) {
        int64_t r = 1;
        for (int64_t k = 0; k < y.i(); ++k) r *= x.i();
        return Value(r);
      }
      return Value(std::pow(x.AsDouble(), y.AsDouble()));
    }
    Fail(e.line, "unknown operator " + op);
  }

  bool Test(const Expr& e) {
    return ApplyTest(e.name, Eval(*e.kids[0]), e.kids.size() > 1 ? Eval(*e.kids[1]) : Value(), e.line);
  }

  // `v is t(arg)`; select and selectattr name their test at run time.
  static bool ApplyTest(const std::string& t, const Value& v, const Value& arg, int line) {
    if (!kTests.count(t)) Fail(line, "test '" + t + "' is not supported");
    if (t == "defined") return !v.is_undefined();
    if (t == "undefined") return v.is_undefined();
    if (t == "none") return v.is_none();
    if (t == "string") return v.is_string();
    if (t == "number") return v.is_number();
    if (t == "integer") return v.kind() == Value::Kind::kInt;
    if (t == "float") return v.kind() == Value::Kind::kFloat;
    if (t == "boolean") return v.kind() == Value::Kind::kBool;
    if (t == "mapping") return v.is_mapping();
    if (t == "iterable") return v.is_list() || v.is_string() || v.is_mapping() || v.is_undefined();
    if (t == "sequence") return v.is_list() || v.is_string() || v.is_mapping();
    if (t == "callable") return v.kind() == Value::Kind::kFunction;
    if (t == "true") return v.kind() == Value::Kind::kBool && v.b();
    if (t == "false") return v.kind() == Value::Kind::kBool && !v.b();
    if (t == "even" || t == "odd") {
      const Value n = Number(v, line);
      if (n.kind() != Value::Kind::kInt) Fail(line, "'" + t + "' needs an integer");
      return (n.i() % 2 == 0) == (t == "even");
    }
    if (t == "eq" || t == "equalto" || t == "==") return v == arg;
    if (t == "ne" || t == "!=") return !(v == arg);
    if (t == "in") {
      return arg.is_list() ? std::any_of(arg.list().begin(), arg.list().end(), [&](const Value& x) { return x == v; })
             : arg.is_string() ? v.is_string() && arg.s().find(v.s()) != std::string::npos
                               : !arg.Get(v.Str()).is_undefined();
    }
    const double x = Number(v, line).AsDouble(), y = Number(arg, line).AsDouble();
    if (t == "lt" || t == "<" || t == "lessthan") return x < y;
    if (t == "gt" || t == ">" || t == "greaterthan") return x > y;
    if (t == "le" || t == "<=") return x <= y;
    return x >= y;
  }

  Value Filter(const Expr& e) { return ApplyFilter(e.name, Eval(*e.kids[0]), Arguments(e, 1), e.line); }

  // `v | f(a)`; map names its filter at run time.
  static Value ApplyFilter(const std::string& f, const Value& v, const CallArgs& a, int line) {
    if (!kFilters.count(f)) Fail(line, "filter '" + f + "' is not supported");
    if (f == "length" || f == "count") {
      if (v.is_string()) return Value(CodePoints(v.s()));
      if (v.is_list()) return Value(static_cast<int64_t>(v.list().size()));
      if (v.is_mapping()) return Value(static_cast<int64_t>(v.dict().size()));
      if (v.is_undefined()) return Value(int64_t{0});
      Fail(line, std::string("a ") + v.KindName() + " has no length");
    }
    if (f == "tojson") {
      // transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
      Value::JsonFormat format;
      const Value indent = a.Arg(1, "indent"), separators = a.Arg(2, "separators");
      if (indent.kind() == Value::Kind::kInt) format.indent = static_cast<int>(indent.i());
      if (!separators.is_undefined() && !separators.is_none()) {
        if (!separators.is_list() || separators.list().size() != 2) Fail(line, "tojson: separators must be a pair of strings");
        format.item_separator = separators.list()[0].Str();
        format.key_separator = separators.list()[1].Str();
      }
      format.sort_keys = a.Arg(3, "sort_keys").Truthy();
      format.ensure_ascii = a.Arg(0, "ensure_ascii").Truthy();
      try {
        return Value(v.ToJson(format));
      } catch (const std::invalid_argument& err) {
        Fail(line, std::string("tojson: ") + err.what());
      }
    }
    if (f == "trim") return Value(PyStrip(v.Str(), a.Arg(0, "chars"), true, true));
    if (f == "upper" || f == "lower") return Value(Upper(v.Str(), f == "upper"));
    if (f == "capitalize" || f == "title") return Value(PyTitle(v.Str(), f == "capitalize"));
    if (f == "first" || f == "last") {
      const List items = Iterate(v, line);
      if (items.empty()) return Value();
      return f == "first" ? items.front() : items.back();
    }
    if (f == "default" || f == "d") {
      const bool boolean = a.Arg(1, "boolean").Truthy();
      if (v.is_undefined() || (boolean && !v.Truthy())) return a.Arg(0, "default_value").is_undefined() ? Value("") : a.Arg(0, "default_value");
      return v;
    }
    if (f == "join") {
      std::string out;
      const std::string sep = a.Arg(0, "d").is_undefined() ? "" : a.Arg(0, "d").Str();
      bool first = true;
      for (const auto& x : Iterate(v, line)) {
        out += (first ? "" : sep) + x.Str();
        first = false;
      }
      return Value(out);
    }
    if (f == "string" || f == "safe") return v.is_string() ? v : Value(v.Str());
    if (f == "int") {
      if (v.is_number()) return Value(static_cast<int64_t>(v.AsDouble()));
      try {
        return Value(static_cast<int64_t>(std::stoll(v.Str())));
      } catch (...) {
        return a.Arg(0, "default").is_undefined() ? Value(int64_t{0}) : a.Arg(0, "default");
      }
    }
    if (f == "float") {
      if (v.is_number()) return Value(v.AsDouble());
      try {
        return Value(std::stod(v.Str()));
      } catch (...) {
        return Value(0.0);
      }
    }
    if (f == "list") return Value(Iterate(v, line));
    if (f == "items") {
      if (!v.is_mapping()) Fail(line, "items needs a dict");
      List l;
      for (const auto& [k, x] : v.dict()) l.push_back(Value(List{Value(k), x}));
      return Value(std::move(l));
    }
    if (f == "reverse") {
      List l = Iterate(v, line);
      std::reverse(l.begin(), l.end());
      if (!v.is_string()) return Value(std::move(l));
      std::string s;
      for (const auto& c : l) s += c.s();
      return Value(s);
    }
    if (f == "replace") return Value(ReplaceAll(v.Str(), a.Arg(0, "old").Str(), a.Arg(1, "new").Str()));
    if (f == "abs") {
      const Value n = Number(v, line);
      return n.kind() == Value::Kind::kInt ? Value(n.i() < 0 ? -n.i() : n.i()) : Value(std::fabs(n.AsDouble()));
    }
    if (f == "round") {
      const Value p = a.Arg(0, "precision");
      const double scale = std::pow(10.0, p.is_number() ? p.AsDouble() : 0.0);
      return Value(std::round(Number(v, line).AsDouble() * scale) / scale);
    }
    if (f == "selectattr" || f == "rejectattr" || f == "select" || f == "reject") {
      // select(test, args...) keeps the items that pass; selectattr(attr,
      // test, args...) tests an attribute; without a test, truthiness.
      const bool by_attr = f == "selectattr" || f == "rejectattr";
      const bool keep = f == "selectattr" || f == "select";
      const size_t t = by_attr ? 1 : 0;
      if (by_attr && a.positional.empty()) Fail(line, f + " needs an attribute name");
      List out;
      for (const auto& item : Iterate(v, line)) {
        const Value x = by_attr ? AttributePath(item, a.positional[0], line) : item;
        const bool pass = a.positional.size() > t
                              ? ApplyTest(a.positional[t].Str(), x, a.positional.size() > t + 1 ? a.positional[t + 1] : Value(), line)
                              : x.Truthy();
        if (pass == keep) out.push_back(item);
      }
      return Value(std::move(out));
    }
    if (f == "map") {
      // map(attribute='a.b', default=d) or map('filter', args...).
      const Value attribute = a.Arg(kKeywordOnly, "attribute");
      List out;
      for (const auto& item : Iterate(v, line)) {
        if (!attribute.is_undefined()) {
          out.push_back(AttributePath(item, attribute, line, a.Arg(kKeywordOnly, "default")));
        } else {
          if (a.positional.empty()) Fail(line, "map needs a filter name or attribute=");
          CallArgs rest;
          rest.positional.assign(a.positional.begin() + 1, a.positional.end());
          rest.keyword = a.keyword;
          out.push_back(ApplyFilter(a.positional[0].Str(), item, rest, line));
        }
      }
      return Value(std::move(out));
    }
    if (f == "indent") return Value(Indent(v.Str(), a.Arg(0, "width"), a.Arg(1, "first").Truthy(), a.Arg(2, "blank").Truthy()));
    // unique
    List out;
    for (const auto& x : Iterate(v, line))
      if (std::none_of(out.begin(), out.end(), [&](const Value& y) { return y == x; })) out.push_back(x);
    return Value(std::move(out));
  }

  // item.a.b (parts that are digits index a list), as selectattr and map
  // read it; a part that is undefined becomes `fallback` when one is given.
  static Value AttributePath(const Value& item, const Value& path, int line, const Value& fallback = Value()) {
    const auto step = [&](const Value& x, const Value& key) {
      const Value v = Item(x, key);
      return v.is_undefined() && !fallback.is_undefined() ? fallback : v;
    };
    if (path.kind() == Value::Kind::kInt) return step(item, path);
    Value x = item;
    for (const auto& part : PySplit(path.Str(), Value("."), -1)) {
      if (x.is_undefined()) Fail(line, "cannot read '." + part + "' of an undefined value" + Why(x));
      x = step(x, KeyOf(part));
    }
    return x;
  }

  static constexpr int kMaxMacroDepth = 200;
  int macro_depth_ = 0;
  Value globals_;
  std::vector<Scope> scopes_;
};

}  // namespace

Template Template::Parse(const std::string& source, const TemplateOptions& options) {
  StatementParser parser(Lex(NormalizeLineEnds(source), options));
  std::string ended, rest;
  int line = 0;
  Template t;
  t.root_ = parser.Body({}, &ended, &line, &rest);
  return t;
}

std::string Template::Render(const Value& context) const {
  if (!context.is_mapping()) throw TemplateError("chat template: the context must be a dict");
  Renderer r(context);
  std::string out;
  r.Run(*root_, out);
  return out;
}

}  // namespace prlm::jinja
