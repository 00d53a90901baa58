#include "common/jinja/filters.h"

#include <algorithm>
#include <cmath>
#include <map>
#include <stdexcept>

#include "common/jinja/py_string.h"
#include "common/jinja/template_error.h"
#include "common/jinja/value_access.h"

namespace prlm::jinja {

namespace {

// CallArgs::Arg's index for an argument that can only be passed by name.
constexpr size_t kKeywordOnly = static_cast<size_t>(-1);

// ---- filters: `name` is the filter's own name (several share a function) ----

using FilterFn = Value (*)(const std::string& name, const Value& v, const CallArgs& a, int line);

Value Length(const std::string&, const Value& v, const CallArgs&, int line) {
  if (v.is_string()) return Value(CodePoints(v.s()));
  if (v.is_list()) return Value(static_cast<int64_t>(v.list().size()));
  if (v.is_mapping()) return Value(static_cast<int64_t>(v.dict().size()));
  if (v.is_undefined()) return Value(int64_t{0});
  Fail(line, std::string("a ") + v.KindName() + " has no length");
}

// transformers' tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False).
Value ToJson(const std::string&, const Value& v, const CallArgs& a, int line) {
  Value::JsonFormat format;
  const Value indent = a.Arg(1, "indent"), separators = a.Arg(2, "separators");
  if (indent.kind() == Value::Kind::kInt) format.indent = static_cast<int>(indent.i());
  if (!separators.is_undefined() && !separators.is_none()) {
    if (!separators.is_list() || separators.list().size() != 2)
      Fail(line, "tojson: separators must be a pair of strings");
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

Value Trim(const std::string&, const Value& v, const CallArgs& a, int) {
  return Value(PyStrip(v.Str(), a.Arg(0, "chars"), true, true));
}

// upper, lower and capitalize are str's; title is Jinja2's own (word starts
// after whitespace and -({[<, not str.title()'s cased-letter rule).
Value Case(const std::string& name, const Value& v, const CallArgs&, int) {
  if (name == "upper") return Value(PyUpper(v.Str()));
  if (name == "lower") return Value(PyLower(v.Str()));
  if (name == "capitalize") return Value(PyCapitalize(v.Str()));
  return Value(JinjaTitle(v.Str()));
}

Value FirstOrLast(const std::string& name, const Value& v, const CallArgs&, int line) {
  const List items = Iterate(v, line);
  if (items.empty()) return Value();
  return name == "first" ? items.front() : items.back();
}

Value Default(const std::string&, const Value& v, const CallArgs& a, int) {
  const bool boolean = a.Arg(1, "boolean").Truthy();
  if (v.is_undefined() || (boolean && !v.Truthy()))
    return a.Arg(0, "default_value").is_undefined() ? Value("") : a.Arg(0, "default_value");
  return v;
}

Value Join(const std::string&, const Value& v, const CallArgs& a, int line) {
  std::string out;
  const std::string sep = a.Arg(0, "d").is_undefined() ? "" : a.Arg(0, "d").Str();
  bool first = true;
  for (const auto& x : Iterate(v, line)) {
    out += (first ? "" : sep) + x.Str();
    first = false;
  }
  return Value(out);
}

Value String(const std::string&, const Value& v, const CallArgs&, int) { return v.is_string() ? v : Value(v.Str()); }

Value Int(const std::string&, const Value& v, const CallArgs& a, int) {
  if (v.is_number()) return Value(static_cast<int64_t>(v.AsDouble()));
  try {
    return Value(static_cast<int64_t>(std::stoll(v.Str())));
  } catch (...) {
    return a.Arg(0, "default").is_undefined() ? Value(int64_t{0}) : a.Arg(0, "default");
  }
}

Value Float(const std::string&, const Value& v, const CallArgs&, int) {
  if (v.is_number()) return Value(v.AsDouble());
  try {
    return Value(std::stod(v.Str()));
  } catch (...) {
    return Value(0.0);
  }
}

Value ToList(const std::string&, const Value& v, const CallArgs&, int line) { return Value(Iterate(v, line)); }

Value Items(const std::string&, const Value& v, const CallArgs&, int line) {
  if (!v.is_mapping()) Fail(line, "items needs a dict");
  List l;
  for (const auto& [k, x] : v.dict()) l.push_back(Value(List{Value(k), x}));
  return Value(std::move(l));
}

Value Reverse(const std::string&, const Value& v, const CallArgs&, int line) {
  List l = Iterate(v, line);
  std::reverse(l.begin(), l.end());
  if (!v.is_string()) return Value(std::move(l));
  std::string s;
  for (const auto& c : l) s += c.s();
  return Value(s);
}

Value Replace(const std::string&, const Value& v, const CallArgs& a, int) {
  const Value count = a.Arg(2, "count");  // Jinja2: none means every occurrence
  return Value(PyReplace(v.Str(), a.Arg(0, "old").Str(), a.Arg(1, "new").Str(), count.is_number() ? count.i() : -1));
}

Value Abs(const std::string&, const Value& v, const CallArgs&, int line) {
  const Value n = ToNumber(v, line);
  return n.kind() == Value::Kind::kInt ? Value(n.i() < 0 ? -n.i() : n.i()) : Value(std::fabs(n.AsDouble()));
}

Value Round(const std::string&, const Value& v, const CallArgs& a, int line) {
  const Value p = a.Arg(0, "precision");
  const double scale = std::pow(10.0, p.is_number() ? p.AsDouble() : 0.0);
  return Value(std::round(ToNumber(v, line).AsDouble() * scale) / scale);
}

// select(test, args...) keeps the items that pass; selectattr(attr, test,
// args...) tests an attribute; without a test, truthiness. reject and
// rejectattr keep the others.
Value Select(const std::string& name, const Value& v, const CallArgs& a, int line) {
  const bool by_attr = name == "selectattr" || name == "rejectattr";
  const bool keep = name == "selectattr" || name == "select";
  const size_t t = by_attr ? 1 : 0;
  if (by_attr && a.positional.empty()) Fail(line, name + " needs an attribute name");
  List out;
  for (const auto& item : Iterate(v, line)) {
    const Value x = by_attr ? AttributePath(item, a.positional[0], line) : item;
    const bool pass =
        a.positional.size() > t
            ? ApplyTest(a.positional[t].Str(), x, a.positional.size() > t + 1 ? a.positional[t + 1] : Value(), line)
            : x.Truthy();
    if (pass == keep) out.push_back(item);
  }
  return Value(std::move(out));
}

// map(attribute='a.b', default=d) or map('filter', args...).
Value Map(const std::string&, const Value& v, const CallArgs& a, int line) {
  const Value attribute = a.Arg(kKeywordOnly, "attribute");
  List out;
  for (const auto& item : Iterate(v, line)) {
    if (!attribute.is_undefined()) {
      out.push_back(AttributePath(item, attribute, line, a.Arg(kKeywordOnly, "default")));
      continue;
    }
    if (a.positional.empty()) Fail(line, "map needs a filter name or attribute=");
    CallArgs rest;
    rest.positional.assign(a.positional.begin() + 1, a.positional.end());
    rest.keyword = a.keyword;
    out.push_back(ApplyFilter(a.positional[0].Str(), item, rest, line));
  }
  return Value(std::move(out));
}

// Every line but the first (and the first too when `first`) gets `width`
// spaces (or the string `width`); blank lines only when `blank`.
Value Indent(const std::string&, const Value& v, const CallArgs& a, int) {
  const Value width = a.Arg(0, "width");
  const bool first = a.Arg(1, "first").Truthy(), blank = a.Arg(2, "blank").Truthy();
  const std::string pad =
      width.is_string() ? width.s() : std::string(width.is_number() ? static_cast<size_t>(width.AsDouble()) : 4, ' ');
  const std::vector<std::string> lines = PySplitLines(v.Str() + '\n');  // as Jinja2 does: a final newline survives
  std::string out;
  for (size_t k = 0; k < lines.size(); ++k) {
    if (k > 0) out += '\n';
    if (k == 0 ? first : blank || !lines[k].empty()) out += pad;
    out += lines[k];
  }
  return Value(out);
}

Value Unique(const std::string&, const Value& v, const CallArgs&, int line) {
  List out;
  for (const auto& x : Iterate(v, line))
    if (std::none_of(out.begin(), out.end(), [&](const Value& y) { return y == x; })) out.push_back(x);
  return Value(std::move(out));
}

const std::map<std::string, FilterFn>& Filters() {
  static const std::map<std::string, FilterFn> kFilters = {
      {"length", Length},     {"count", Length},     {"tojson", ToJson},     {"trim", Trim},
      {"upper", Case},        {"lower", Case},       {"capitalize", Case},   {"title", Case},
      {"first", FirstOrLast}, {"last", FirstOrLast}, {"default", Default},   {"d", Default},
      {"join", Join},         {"string", String},    {"safe", String},       {"int", Int},
      {"float", Float},       {"list", ToList},      {"items", Items},       {"reverse", Reverse},
      {"replace", Replace},   {"abs", Abs},          {"round", Round},       {"unique", Unique},
      {"select", Select},     {"reject", Select},    {"selectattr", Select}, {"rejectattr", Select},
      {"map", Map},           {"indent", Indent},
  };
  return kFilters;
}

// ---- tests ----

using TestFn = bool (*)(const std::string& name, const Value& v, const Value& arg, int line);

bool EvenOrOdd(const std::string& name, const Value& v, const Value&, int line) {
  const Value n = ToNumber(v, line);
  if (n.kind() != Value::Kind::kInt) Fail(line, "'" + name + "' needs an integer");
  return (n.i() % 2 == 0) == (name == "even");
}

bool In(const std::string&, const Value& v, const Value& arg, int) {
  if (arg.is_list()) return std::any_of(arg.list().begin(), arg.list().end(), [&](const Value& x) { return x == v; });
  if (arg.is_string()) return v.is_string() && arg.s().find(v.s()) != std::string::npos;
  return !arg.Get(v.Str()).is_undefined();
}

// lt gt le ge and their symbols: numbers only.
bool Order(const std::string& name, const Value& v, const Value& arg, int line) {
  const double x = ToNumber(v, line).AsDouble(), y = ToNumber(arg, line).AsDouble();
  if (name == "lt" || name == "<" || name == "lessthan") return x < y;
  if (name == "gt" || name == ">" || name == "greaterthan") return x > y;
  if (name == "le" || name == "<=") return x <= y;
  return x >= y;
}

#define PRLM_JINJA_TEST(expr) [](const std::string&, const Value& v, const Value& arg, int) -> bool { return expr; }

const std::map<std::string, TestFn>& Tests() {
  static const std::map<std::string, TestFn> kTests = {
      {"defined", PRLM_JINJA_TEST(!v.is_undefined())},
      {"undefined", PRLM_JINJA_TEST(v.is_undefined())},
      {"none", PRLM_JINJA_TEST(v.is_none())},
      {"string", PRLM_JINJA_TEST(v.is_string())},
      {"number", PRLM_JINJA_TEST(v.is_number())},
      {"integer", PRLM_JINJA_TEST(v.kind() == Value::Kind::kInt)},
      {"float", PRLM_JINJA_TEST(v.kind() == Value::Kind::kFloat)},
      {"boolean", PRLM_JINJA_TEST(v.kind() == Value::Kind::kBool)},
      {"mapping", PRLM_JINJA_TEST(v.is_mapping())},
      {"iterable", PRLM_JINJA_TEST(v.is_list() || v.is_string() || v.is_mapping() || v.is_undefined())},
      {"sequence", PRLM_JINJA_TEST(v.is_list() || v.is_string() || v.is_mapping())},
      {"callable", PRLM_JINJA_TEST(v.kind() == Value::Kind::kFunction)},
      {"true", PRLM_JINJA_TEST(v.kind() == Value::Kind::kBool && v.b())},
      {"false", PRLM_JINJA_TEST(v.kind() == Value::Kind::kBool && !v.b())},
      {"even", EvenOrOdd},
      {"odd", EvenOrOdd},
      {"eq", PRLM_JINJA_TEST(v == arg)},
      {"equalto", PRLM_JINJA_TEST(v == arg)},
      {"==", PRLM_JINJA_TEST(v == arg)},
      {"ne", PRLM_JINJA_TEST(!(v == arg))},
      {"!=", PRLM_JINJA_TEST(!(v == arg))},
      {"in", In},
      {"lt", Order},
      {"<", Order},
      {"lessthan", Order},
      {"gt", Order},
      {">", Order},
      {"greaterthan", Order},
      {"le", Order},
      {"<=", Order},
      {"ge", Order},
      {">=", Order},
  };
  return kTests;
}

#undef PRLM_JINJA_TEST

}  // namespace

bool IsFilter(const std::string& name) { return Filters().count(name) > 0; }
bool IsTest(const std::string& name) { return Tests().count(name) > 0; }

Value ApplyFilter(const std::string& name, const Value& v, const CallArgs& args, int line) {
  const auto it = Filters().find(name);
  if (it == Filters().end()) Fail(line, "filter '" + name + "' is not supported");
  return it->second(name, v, args, line);
}

bool ApplyTest(const std::string& name, const Value& v, const Value& arg, int line) {
  const auto it = Tests().find(name);
  if (it == Tests().end()) Fail(line, "test '" + name + "' is not supported");
  return it->second(name, v, arg, line);
}

}  // namespace prlm::jinja
