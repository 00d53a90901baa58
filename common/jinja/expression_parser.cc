#include "common/jinja/expression_parser.h"

#include <algorithm>
#include <cctype>

#include "common/jinja/filters.h"
#include "common/jinja/lexer.h"
#include "common/jinja/py_unicode.h"
#include "common/jinja/template_error.h"

namespace prlm::jinja {

namespace {

std::vector<Tok> Tokenize(const std::string& s, int line) {
  std::vector<Tok> out;
  size_t p = 0;
  while (p < s.size()) {
    const char c = s[p];
    if (const size_t space = SpaceBytesAt(s, p)) {  // Jinja2's \s+ between tokens
      p += space;
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
          case 'n':
            str += '\n';
            break;
          case 't':
            str += '\t';
            break;
          case 'r':
            str += '\r';
            break;
          case '\\':
            str += '\\';
            break;
          case '\'':
            str += '\'';
            break;
          case '"':
            str += '"';
            break;
          case '\n':
            break;
          default:
            str += '\\', str += n;
        }
      }
      if (e >= s.size()) Fail(line, "unterminated string literal");
      out.push_back({Tok::kString, str});
      p = e + 1;
    } else {
      static const char* kOps[] = {"**", "//", "==", "!=", "<=", ">=", "(", ")", "[", "]", "{", "}", ".",
                                   ",",  ":",  "|",  "~",  "+",  "-",  "*", "/", "%", "<", ">", "="};
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

}  // namespace

ExprParser::ExprParser(const std::string& text, int line) : toks_(Tokenize(text, line)), line_(line) {}

ExprPtr ExprParser::Make(Expr::Kind k) {
  auto e = std::make_shared<Expr>();
  e->kind = k;
  e->line = line_;
  return e;
}
ExprPtr ExprParser::Binary(const std::string& op, ExprPtr a, ExprPtr b) {
  auto e = Make(Expr::kBinary);
  e->name = op;
  e->kids = {std::move(a), std::move(b)};
  return e;
}

ExprPtr ExprParser::Conditional() {
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
ExprPtr ExprParser::Or() {
  auto e = And();
  while (AcceptName("or")) {
    auto o = Make(Expr::kOr);
    o->kids = {e, And()};
    e = o;
  }
  return e;
}
ExprPtr ExprParser::And() {
  auto e = Not();
  while (AcceptName("and")) {
    auto a = Make(Expr::kAnd);
    a->kids = {e, Not()};
    e = a;
  }
  return e;
}
ExprPtr ExprParser::Not() {
  if (AcceptName("not")) {
    auto n = Make(Expr::kNot);
    n->kids = {Not()};
    return n;
  }
  return Compare();
}
ExprPtr ExprParser::Compare() {
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
ExprPtr ExprParser::Math1() {
  auto e = Concat();
  while (IsOp("+") || IsOp("-")) {
    const std::string op = toks_[p_++].text;
    e = Binary(op, e, Concat());
  }
  return e;
}
ExprPtr ExprParser::Concat() {
  auto e = Math2();
  while (Accept("~")) e = Binary("~", e, Math2());
  return e;
}
ExprPtr ExprParser::Math2() {
  auto e = Pow();
  while (IsOp("*") || IsOp("/") || IsOp("//") || IsOp("%")) {
    const std::string op = toks_[p_++].text;
    e = Binary(op, e, Pow());
  }
  return e;
}
ExprPtr ExprParser::Pow() {
  auto e = Unary();
  while (Accept("**")) e = Binary("**", e, Unary());
  return e;
}
ExprPtr ExprParser::Unary() {
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
void ExprParser::Arguments(const ExprPtr& call) {
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
ExprPtr ExprParser::FilterTail(ExprPtr e) {
  while (true) {
    if (Accept("|")) {
      auto f = Make(Expr::kFilter);
      f->name = ExpectName();
      if (!IsFilter(f->name)) Fail(line_, "filter '" + f->name + "' is not supported");
      f->kids.push_back(e);
      if (Accept("(")) Arguments(f);
      e = f;
    } else if (AcceptName("is")) {
      auto t = Make(Expr::kTest);
      t->negated = AcceptName("not");
      if (toks_[p_].kind == Tok::kName)
        t->name = toks_[p_++].text;
      else if (toks_[p_].kind == Tok::kOp)
        t->name = toks_[p_++].text;
      if (!IsTest(t->name)) Fail(line_, "test '" + t->name + "' is not supported");
      t->kids.push_back(e);
      if (Accept("(")) {
        Arguments(t);
      } else if (!AtEnd() &&
                 (toks_[p_].kind == Tok::kString || toks_[p_].kind == Tok::kInt || toks_[p_].kind == Tok::kFloat ||
                  (toks_[p_].kind == Tok::kName && !IsName("and") && !IsName("or") && !IsName("else") &&
                   !IsName("if") && !IsName("is") && !IsName("in") && !IsName("not")))) {
        t->kids.push_back(Postfix(Primary()));  // "is divisibleby 3", "is equalto x"
      }
      e = t;
    } else {
      return e;
    }
  }
}
ExprPtr ExprParser::Postfix(ExprPtr e) {
  while (true) {
    if (Accept(".")) {
      auto a = Make(Expr::kAttr);
      if (toks_[p_].kind == Tok::kInt)
        a->name = toks_[p_++].text;
      else
        a->name = ExpectName();
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
ExprPtr ExprParser::Primary() {
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
    if (t.text == "true" || t.text == "True")
      e->literal = Value(true);
    else if (t.text == "false" || t.text == "False")
      e->literal = Value(false);
    else if (t.text == "none" || t.text == "None")
      e->literal = Value::None();
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

}  // namespace prlm::jinja
