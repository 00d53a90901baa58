// The values a chat template computes with: Jinja2's (Python's) none, bool,
// int, float, str, list, dict (insertion-ordered), a namespace() (a mutable
// dict), a callable, and undefined (a missing variable or key, carrying
// Jinja2's words for why: "'x' is undefined", "'dict object' has no attribute
// 'name'"). Lists and dicts share their storage on copy, as Python's do.
//
// Conversions follow Python: truthiness, str() of each kind (1.0 -> "1.0",
// True -> "True"), == across int and float, and tojson as transformers'
// chat-template tojson writes it (json.dumps with ensure_ascii=False).
//
// Thread-safety: a Value is not synchronised; templates render on one thread.
#pragma once

#include <nlohmann/json.hpp>

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

namespace prlm::jinja {

class Value;
using List = std::vector<Value>;
using Dict = std::vector<std::pair<std::string, Value>>;  // insertion order
// Positional and keyword arguments of a call.
struct CallArgs;
using Function = std::function<Value(const CallArgs&)>;

class Value {
 public:
  enum class Kind { kUndefined, kNone, kBool, kInt, kFloat, kString, kList, kDict, kNamespace, kFunction };

  Value() = default;  // undefined
  // Undefined, with Jinja2's message for why (shown when it is misused).
  static Value Undefined(std::string why);
  static Value None();
  Value(bool b);
  Value(int64_t i);
  Value(int i) : Value(static_cast<int64_t>(i)) {}
  Value(double d);
  Value(std::string s);
  Value(const char* s) : Value(std::string(s)) {}
  Value(List l);
  Value(Dict d);
  static Value Namespace(Dict d);
  static Value Callable(Function f);
  // Objects keep their key order (ordered_json), as Python dicts do.
  static Value FromJson(const nlohmann::ordered_json& j);

  Kind kind() const { return kind_; }
  bool is_undefined() const { return kind_ == Kind::kUndefined; }
  bool is_none() const { return kind_ == Kind::kNone; }
  bool is_string() const { return kind_ == Kind::kString; }
  bool is_number() const { return kind_ == Kind::kInt || kind_ == Kind::kFloat; }
  bool is_list() const { return kind_ == Kind::kList; }
  bool is_mapping() const { return kind_ == Kind::kDict || kind_ == Kind::kNamespace; }

  // Why an undefined value is undefined; "" when not known or not undefined.
  std::string UndefinedWhy() const { return kind_ == Kind::kUndefined && s_ ? *s_ : ""; }
  bool b() const { return b_; }
  int64_t i() const { return i_; }
  double AsDouble() const { return kind_ == Kind::kInt ? static_cast<double>(i_) : d_; }
  const std::string& s() const { return *s_; }
  List& list() const { return *list_; }
  Dict& dict() const { return *dict_; }
  const Function& function() const { return *fn_; }

  // The value under `key` of a dict or namespace; undefined when absent.
  Value Get(const std::string& key) const;
  // REQUIRES: is_mapping(). Replaces or appends.
  void Set(const std::string& key, Value v) const;

  bool Truthy() const;
  std::string Str() const;   // Python's str()
  std::string Repr() const;  // Python's repr() (str in a list)
  // transformers' tojson (json.dumps with ensure_ascii=False and these
  // arguments). Throws std::invalid_argument on an undefined value anywhere
  // inside, as json.dumps does.
  struct JsonFormat {
    int indent = -1;                            // < 0: one line
    std::optional<std::string> item_separator;  // default ", " on one line, else ","
    std::string key_separator = ": ";
    bool sort_keys = false;
    bool ensure_ascii = false;
  };
  std::string ToJson(const JsonFormat& format) const;
  std::string ToJson() const { return ToJson(JsonFormat{}); }
  const char* KindName() const;

  friend bool operator==(const Value& a, const Value& b);

 private:
  Kind kind_ = Kind::kUndefined;
  bool b_ = false;
  int64_t i_ = 0;
  double d_ = 0;
  std::shared_ptr<std::string> s_;
  std::shared_ptr<List> list_;
  std::shared_ptr<Dict> dict_;
  std::shared_ptr<Function> fn_;
};

struct CallArgs {
  std::vector<Value> positional;
  std::vector<std::pair<std::string, Value>> keyword;
  // The keyword `name`, else positional `index`, else undefined.
  Value Arg(size_t index, const std::string& name) const;
};

}  // namespace prlm::jinja
