#include "common/jinja/renderer.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <optional>
#include <unordered_map>

#include "common/jinja/filters.h"
#include "common/jinja/py_string.h"
#include "common/jinja/template_error.h"
#include "common/jinja/value_access.h"

namespace prlm::jinja {

namespace {

enum class Flow { kNormal, kBreak, kContinue };

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
      case Template::Node::kText:
        out += n.text;
        return Flow::kNormal;
      case Template::Node::kOutput: {
        const Value v = Eval(*n.expr);
        out += v.Str();
        return Flow::kNormal;
      }
      case Template::Node::kIf:
        for (const auto& [cond, body] : n.branches)
          if (Eval(*cond).Truthy()) return Run(*body, out);
        return n.otherwise ? Run(*n.otherwise, out) : Flow::kNormal;
      case Template::Node::kFor:
        return RunFor(n, out);
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
      case Template::Node::kBreak:
        return Flow::kBreak;
      case Template::Node::kContinue:
        return Flow::kContinue;
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
  Scope BindParameters(const Template::Node& n, const std::string& what, const CallArgs& a, std::vector<Scope> scopes) {
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
      return Value::Callable(
          [](const CallArgs& a) -> Value { throw TemplateError("raise_exception: " + a.Arg(0, "message").Str()); });
    if (name == "range")
      return Value::Callable([](const CallArgs& a) {
        int64_t start = 0, stop = 0, step = 1;
        if (a.positional.size() == 1)
          stop = a.positional[0].i();
        else if (a.positional.size() >= 2)
          start = a.positional[0].i(), stop = a.positional[1].i();
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
      case Expr::kLiteral:
        return e.literal;
      case Expr::kName:
        return Lookup(e.name);
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
          if (it != d.end())
            it->second = std::move(value);
          else
            d.emplace_back(key, std::move(value));
        }
        return Value(std::move(d));
      }
      case Expr::kAttr:
        return Attribute(Eval(*e.kids[0]), e.name, e);
      case Expr::kIndex:
        return Index(Eval(*e.kids[0]), Eval(*e.kids[1]), e);
      case Expr::kSlice:
        return Slice(e);
      case Expr::kCall:
        return Invoke(e);
      case Expr::kFilter:
        return Filter(e);
      case Expr::kTest: {
        const bool r = Test(e);
        return Value(e.negated ? !r : r);
      }
      case Expr::kNeg: {
        const Value v = Number(Eval(*e.kids[0]), e);
        return v.kind() == Value::Kind::kInt ? Value(-v.i()) : Value(-v.AsDouble());
      }
      case Expr::kPos:
        return Number(Eval(*e.kids[0]), e);
      case Expr::kNot:
        return Value(!Eval(*e.kids[0]).Truthy());
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
      case Expr::kBinary:
        return BinaryOp(e);
      case Expr::kStarred:
        Fail(e.line, "*args outside a call's arguments");
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

  static Value Number(const Value& v, const Expr& e) { return ToNumber(v, e.line); }

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

  // The same, naming the expression when the value does not say.
  static std::string Why(const Value& v, const Expr& e) {
    if (!v.UndefinedWhy().empty()) return WhyUndefined(v);
    if (e.kind == Expr::kName || e.kind == Expr::kAttr) return " ('" + e.name + "' is undefined)";
    return "";
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
      if (a.is_string() && b.is_string())
        c = a.s().compare(b.s());
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
        Fail(e.line, std::string("cannot add a ") + a.KindName() + " and a " + b.KindName() + WhyUndefined(a) +
                         WhyUndefined(b));
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

  Value Filter(const Expr& e) { return ApplyFilter(e.name, Eval(*e.kids[0]), Arguments(e, 1), e.line); }

  static constexpr int kMaxMacroDepth = 200;
  int macro_depth_ = 0;
  Value globals_;
  std::vector<Scope> scopes_;
};

}  // namespace

std::string RenderTemplate(const Template::Node& root, const Value& context) {
  Renderer r(context);
  std::string out;
  r.Run(root, out);
  return out;
}

}  // namespace prlm::jinja
