#include "common/jinja/value_access.h"

#include <algorithm>
#include <cctype>

#include "common/jinja/py_string.h"
#include "common/jinja/template_error.h"

namespace prlm::jinja {

namespace {

// Python's type name as Jinja2 writes it in messages.
std::string ObjectName(const Value& v) {
  switch (v.kind()) {
    case Value::Kind::kDict:
      return "dict object";
    case Value::Kind::kNamespace:
      return "jinja2.utils.Namespace object";
    case Value::Kind::kList:
      return "list object";
    case Value::Kind::kString:
      return "str object";
    case Value::Kind::kInt:
      return "int object";
    case Value::Kind::kFloat:
      return "float object";
    case Value::Kind::kBool:
      return "bool object";
    case Value::Kind::kNone:
      return "None";
    default:
      return std::string(v.KindName()) + " object";
  }
}

}  // namespace

List Iterate(const Value& v, int line) {
  switch (v.kind()) {
    case Value::Kind::kList:
      return v.list();
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
    case Value::Kind::kUndefined:
      return {};
    default:
      Fail(line, std::string("a ") + v.KindName() + " is not iterable");
  }
}

Value ToNumber(const Value& v, int line) {
  if (v.is_number()) return v;
  if (v.kind() == Value::Kind::kBool) return Value(static_cast<int64_t>(v.b()));
  Fail(line, std::string("expected a number, got a ") + v.KindName() + WhyUndefined(v));
}

Value KeyOf(const std::string& name) {
  const bool digits = !name.empty() && name.size() < 19 && std::all_of(name.begin(), name.end(), [](char c) {
    return std::isdigit(static_cast<unsigned char>(c));
  });
  return digits ? Value(static_cast<int64_t>(std::stoll(name))) : Value(name);
}

// obj[key] or obj.key as Jinja2's sandbox reads them: a missing key, an
// index out of range or of the wrong type is undefined, saying why in
// Jinja2's words.
Value Item(const Value& obj, const Value& key) {
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

std::string WhyUndefined(const Value& v) {
  return v.UndefinedWhy().empty() ? std::string() : " (" + v.UndefinedWhy() + ")";
}

Value AttributePath(const Value& item, const Value& path, int line, const Value& fallback) {
  const auto step = [&](const Value& x, const Value& key) {
    const Value v = Item(x, key);
    return v.is_undefined() && !fallback.is_undefined() ? fallback : v;
  };
  if (path.kind() == Value::Kind::kInt) return step(item, path);
  Value x = item;
  for (const auto& part : PySplit(path.Str(), Value("."), -1)) {
    if (x.is_undefined()) Fail(line, "cannot read '." + part + "' of an undefined value" + WhyUndefined(x));
    x = step(x, KeyOf(part));
  }
  return x;
}

}  // namespace prlm::jinja
