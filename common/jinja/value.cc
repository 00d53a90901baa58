#include "common/jinja/value.h"

#include <cmath>
#include <cstdio>
#include <stdexcept>

#include <utf8proc.h>

namespace prlm::jinja {

Value Value::Undefined(std::string why) {
  Value v;
  v.s_ = std::make_shared<std::string>(std::move(why));
  return v;
}

Value Value::None() {
  Value v;
  v.kind_ = Kind::kNone;
  return v;
}
Value::Value(bool b) : kind_(Kind::kBool), b_(b) {}
Value::Value(int64_t i) : kind_(Kind::kInt), i_(i) {}
Value::Value(double d) : kind_(Kind::kFloat), d_(d) {}
Value::Value(std::string s) : kind_(Kind::kString), s_(std::make_shared<std::string>(std::move(s))) {}
Value::Value(List l) : kind_(Kind::kList), list_(std::make_shared<List>(std::move(l))) {}
Value::Value(Dict d) : kind_(Kind::kDict), dict_(std::make_shared<Dict>(std::move(d))) {}

Value Value::Namespace(Dict d) {
  Value v(std::move(d));
  v.kind_ = Kind::kNamespace;
  return v;
}

Value Value::Callable(Function f) {
  Value v;
  v.kind_ = Kind::kFunction;
  v.fn_ = std::make_shared<Function>(std::move(f));
  return v;
}

Value Value::FromJson(const nlohmann::ordered_json& j) {
  switch (j.type()) {
    case nlohmann::ordered_json::value_t::null:
      return None();
    case nlohmann::ordered_json::value_t::boolean:
      return Value(j.get<bool>());
    case nlohmann::ordered_json::value_t::number_integer:
    case nlohmann::ordered_json::value_t::number_unsigned:
      return Value(j.get<int64_t>());
    case nlohmann::ordered_json::value_t::number_float:
      return Value(j.get<double>());
    case nlohmann::ordered_json::value_t::string:
      return Value(j.get<std::string>());
    case nlohmann::ordered_json::value_t::array: {
      List l;
      for (const auto& x : j) l.push_back(FromJson(x));
      return Value(std::move(l));
    }
    case nlohmann::ordered_json::value_t::object: {
      Dict d;
      for (const auto& [k, v] : j.items()) d.emplace_back(k, FromJson(v));
      return Value(std::move(d));
    }
    default:
      return Value();
  }
}

Value Value::Get(const std::string& key) const {
  if (!is_mapping()) return Value();
  for (const auto& [k, v] : *dict_)
    if (k == key) return v;
  return Value();
}

void Value::Set(const std::string& key, Value v) const {
  for (auto& [k, old] : *dict_)
    if (k == key) {
      old = std::move(v);
      return;
    }
  dict_->emplace_back(key, std::move(v));
}

bool Value::Truthy() const {
  switch (kind_) {
    case Kind::kUndefined:
    case Kind::kNone:
      return false;
    case Kind::kBool:
      return b_;
    case Kind::kInt:
      return i_ != 0;
    case Kind::kFloat:
      return d_ != 0;
    case Kind::kString:
      return !s_->empty();
    case Kind::kList:
      return !list_->empty();
    case Kind::kDict:
      return !dict_->empty();
    default:
      return true;
  }
}

namespace {

// Python's repr() of a float: the shortest text that reads back the same,
// with ".0" on integral values.
std::string FloatRepr(double d) {
  if (std::isnan(d)) return "nan";
  if (std::isinf(d)) return d > 0 ? "inf" : "-inf";
  char buf[64];
  for (int precision = 1; precision <= 17; ++precision) {
    std::snprintf(buf, sizeof buf, "%.*g", precision, d);
    if (std::strtod(buf, nullptr) == d) break;
  }
  std::string s = buf;
  if (s.find_first_of(".en") == std::string::npos) s += ".0";
  // %g writes 1e+20; Python writes 1e+20 too, and 1e-05 as 1e-05.
  return s;
}

std::string StringRepr(const std::string& s) {
  const char quote = s.find('\'') != std::string::npos && s.find('"') == std::string::npos ? '"' : '\'';
  std::string out(1, quote);
  for (char c : s) {
    if (c == quote || c == '\\')
      out += '\\', out += c;
    else if (c == '\n')
      out += "\\n";
    else if (c == '\t')
      out += "\\t";
    else if (c == '\r')
      out += "\\r";
    else
      out += c;
  }
  return out + quote;
}

// A JSON string as json.dumps writes it; with ensure_ascii, every non-ASCII
// code point as \uXXXX (a surrogate pair above U+FFFF).
void JsonString(const std::string& s, bool ensure_ascii, std::string& out) {
  out += '"';
  const auto escape = [&](unsigned code) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "\\u%04x", code);
    out += buf;
  };
  for (size_t k = 0; k < s.size(); ++k) {
    const unsigned char c = static_cast<unsigned char>(s[k]);
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      default:
        if (c < 0x20) {
          escape(c);
        } else if (c < 0x80 || !ensure_ascii) {
          out += static_cast<char>(c);
        } else {
          // One UTF-8 sequence; an invalid byte is written as U+FFFD.
          utf8proc_int32_t cp = 0;
          const utf8proc_ssize_t n = utf8proc_iterate(reinterpret_cast<const utf8proc_uint8_t*>(s.data()) + k,
                                                      static_cast<utf8proc_ssize_t>(s.size() - k), &cp);
          if (n > 0) k += static_cast<size_t>(n) - 1;
          unsigned code = n > 0 ? static_cast<unsigned>(cp) : 0xfffd;
          if (code >= 0x10000) {
            code -= 0x10000;
            escape(0xd800 + (code >> 10));
            escape(0xdc00 + (code & 0x3ff));
          } else {
            escape(code);
          }
        }
    }
  }
  out += '"';
}

void Json(const Value& v, const Value::JsonFormat& f, const std::string& item_separator, int depth, std::string& out) {
  const auto newline = [&](int d) {
    if (f.indent < 0) return;
    out += '\n';
    out.append(static_cast<size_t>(f.indent * d), ' ');
  };
  switch (v.kind()) {
    case Value::Kind::kUndefined:
      throw std::invalid_argument("Object of type Undefined is not JSON serializable" +
                                  (v.UndefinedWhy().empty() ? "" : " (" + v.UndefinedWhy() + ")"));
    case Value::Kind::kNone:
      out += "null";
      return;
    case Value::Kind::kBool:
      out += v.b() ? "true" : "false";
      return;
    case Value::Kind::kInt:
      out += std::to_string(v.i());
      return;
    case Value::Kind::kFloat:
      out += FloatRepr(v.AsDouble());
      return;
    case Value::Kind::kString:
      JsonString(v.s(), f.ensure_ascii, out);
      return;
    case Value::Kind::kList: {
      if (v.list().empty()) {
        out += "[]";
        return;
      }
      out += '[';
      bool first = true;
      for (const auto& x : v.list()) {
        if (!first) out += item_separator;
        first = false;
        newline(depth + 1);
        Json(x, f, item_separator, depth + 1, out);
      }
      newline(depth);
      out += ']';
      return;
    }
    case Value::Kind::kDict:
    case Value::Kind::kNamespace: {
      if (v.dict().empty()) {
        out += "{}";
        return;
      }
      std::vector<const std::pair<std::string, Value>*> entries;
      for (const auto& kv : v.dict()) entries.push_back(&kv);
      if (f.sort_keys)
        std::stable_sort(entries.begin(), entries.end(),
                         [](const auto* a, const auto* b) { return a->first < b->first; });
      out += '{';
      bool first = true;
      for (const auto* kv : entries) {
        if (!first) out += item_separator;
        first = false;
        newline(depth + 1);
        JsonString(kv->first, f.ensure_ascii, out);
        out += f.key_separator;
        Json(kv->second, f, item_separator, depth + 1, out);
      }
      newline(depth);
      out += '}';
      return;
    }
    case Value::Kind::kFunction:
      throw std::invalid_argument("Object of type function is not JSON serializable");
  }
}

}  // namespace

std::string Value::Str() const {
  switch (kind_) {
    case Kind::kUndefined:
      return "";
    case Kind::kNone:
      return "None";
    case Kind::kBool:
      return b_ ? "True" : "False";
    case Kind::kInt:
      return std::to_string(i_);
    case Kind::kFloat:
      return FloatRepr(d_);
    case Kind::kString:
      return *s_;
    case Kind::kList: {
      std::string out = "[";
      for (size_t k = 0; k < list_->size(); ++k) out += (k ? ", " : "") + (*list_)[k].Repr();
      return out + "]";
    }
    case Kind::kDict:
    case Kind::kNamespace: {
      std::string out = kind_ == Kind::kNamespace ? "<Namespace {" : "{";
      bool first = true;
      for (const auto& [k, v] : *dict_) {
        out += (first ? "" : ", ") + StringRepr(k) + ": " + v.Repr();
        first = false;
      }
      return out + (kind_ == Kind::kNamespace ? "}>" : "}");
    }
    case Kind::kFunction:
      return "<function>";
  }
  return "";
}

std::string Value::Repr() const { return kind_ == Kind::kString ? StringRepr(*s_) : Str(); }

std::string Value::ToJson(const JsonFormat& format) const {
  std::string out;
  Json(*this, format, format.item_separator.value_or(format.indent < 0 ? ", " : ","), 0, out);
  return out;
}

const char* Value::KindName() const {
  static const char* kNames[] = {"undefined", "none", "bool", "int",       "float",
                                 "string",    "list", "dict", "namespace", "function"};
  return kNames[static_cast<int>(kind_)];
}

bool operator==(const Value& a, const Value& b) {
  if (a.is_number() && b.is_number()) {
    if (a.kind() == Value::Kind::kInt && b.kind() == Value::Kind::kInt) return a.i() == b.i();
    return a.AsDouble() == b.AsDouble();
  }
  // Python: True == 1.
  if (a.kind() == Value::Kind::kBool && b.is_number()) return Value(static_cast<int64_t>(a.b())) == b;
  if (b.kind() == Value::Kind::kBool && a.is_number()) return b == a;
  if (a.kind() != b.kind()) return false;
  switch (a.kind()) {
    case Value::Kind::kUndefined:
    case Value::Kind::kNone:
      return true;
    case Value::Kind::kBool:
      return a.b() == b.b();
    case Value::Kind::kString:
      return a.s() == b.s();
    case Value::Kind::kList:
      return a.list() == b.list();
    case Value::Kind::kDict:
    case Value::Kind::kNamespace: {
      if (a.dict().size() != b.dict().size()) return false;
      for (const auto& [k, v] : a.dict())
        if (!(b.Get(k) == v) || b.Get(k).is_undefined()) return false;
      return true;
    }
    default:
      return false;
  }
}

Value CallArgs::Arg(size_t index, const std::string& name) const {
  for (const auto& [k, v] : keyword)
    if (k == name) return v;
  return index < positional.size() ? positional[index] : Value();
}

}  // namespace prlm::jinja
