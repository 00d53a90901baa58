#include "common/jinja/py_string.h"

#include <algorithm>
#include <cctype>
#include <functional>
#include <map>

#include <utf8proc.h>

#include "common/jinja/lexer.h"
#include "common/jinja/template_error.h"

namespace prlm::jinja {

std::string PyStrip(const std::string& s, const Value& chars, bool left, bool right) {
  const auto strip_char = [&](char c) {
    if (chars.is_string()) return chars.s().find(c) != std::string::npos;
    return IsAsciiSpace(c) || c == '\x1c' || c == '\x1d' || c == '\x1e' || c == '\x1f';
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
      while (p < s.size() && IsAsciiSpace(s[p])) ++p;
      if (p >= s.size()) break;
      if (max_split >= 0 && static_cast<int64_t>(out.size()) == max_split) {
        out.push_back(PyStrip(s.substr(p), Value(), false, true));
        break;
      }
      size_t e = p;
      while (e < s.size() && !IsAsciiSpace(s[e])) ++e;
      out.push_back(s.substr(p, e - p));
      p = e;
    }
    return out;
  }
  const std::string& d = sep.s();
  if (d.empty()) throw TemplateError("split: empty separator");
  size_t p = 0;
  for (size_t at;
       (at = s.find(d, p)) != std::string::npos && (max_split < 0 || static_cast<int64_t>(out.size()) < max_split);
       p = at + d.size())
    out.push_back(s.substr(p, at - p));
  out.push_back(s.substr(p));
  return out;
}

std::vector<std::string> PySplitLines(const std::string& s) {
  std::vector<std::string> lines;
  std::string line;
  for (size_t k = 0; k < s.size(); ++k) {
    const unsigned char c = static_cast<unsigned char>(s[k]);
    size_t end = 0;  // bytes of a line end at k
    if (c == '\n' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e))
      end = 1;
    else if (c == '\r')
      end = k + 1 < s.size() && s[k + 1] == '\n' ? 2 : 1;
    else if (c == 0xc2 && k + 1 < s.size() && static_cast<unsigned char>(s[k + 1]) == 0x85)
      end = 2;
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
std::string PyCase(const std::string& s, bool up) {
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

std::string PyReplace(std::string s, const std::string& from, const std::string& to) {
  for (size_t p = s.find(from); !from.empty() && p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

int64_t CodePoints(const std::string& s) {
  int64_t n = 0;
  for (unsigned char c : s) n += (c & 0xC0) != 0x80;
  return n;
}

namespace {

// One str method: `s` the string, `a` the call's arguments.
using Method = std::function<Value(const std::string& s, const CallArgs& a)>;

bool AffixMatches(const std::string& s, const Value& affixes, bool prefix) {
  const List options = affixes.is_list() ? affixes.list() : List{affixes};  // a tuple tries each
  for (const auto& o : options) {
    const std::string& p = o.Str();
    const bool hit =
        prefix ? s.rfind(p, 0) == 0 : s.size() >= p.size() && s.compare(s.size() - p.size(), p.size(), p) == 0;
    if (hit) return true;
  }
  return false;
}

Value Split(const std::string& s, const CallArgs& a) {
  const Value max = a.Arg(1, "maxsplit");
  List l;
  for (auto& part : PySplit(s, a.Arg(0, "sep"), max.is_number() ? max.i() : -1)) l.push_back(Value(part));
  return Value(std::move(l));
}

const std::map<std::string, Method>& Methods() {
  static const std::map<std::string, Method> kMethods = {
      {"startswith",
       [](const std::string& s, const CallArgs& a) { return Value(AffixMatches(s, a.Arg(0, "prefix"), true)); }},
      {"endswith",
       [](const std::string& s, const CallArgs& a) { return Value(AffixMatches(s, a.Arg(0, "prefix"), false)); }},
      {"split", Split},
      {"rsplit", Split},
      {"strip",
       [](const std::string& s, const CallArgs& a) { return Value(PyStrip(s, a.Arg(0, "chars"), true, true)); }},
      {"lstrip",
       [](const std::string& s, const CallArgs& a) { return Value(PyStrip(s, a.Arg(0, "chars"), true, false)); }},
      {"rstrip",
       [](const std::string& s, const CallArgs& a) { return Value(PyStrip(s, a.Arg(0, "chars"), false, true)); }},
      {"upper", [](const std::string& s, const CallArgs&) { return Value(PyCase(s, true)); }},
      {"lower", [](const std::string& s, const CallArgs&) { return Value(PyCase(s, false)); }},
      {"title", [](const std::string& s, const CallArgs&) { return Value(PyTitle(s, false)); }},
      {"capitalize", [](const std::string& s, const CallArgs&) { return Value(PyTitle(s, true)); }},
      {"replace", [](const std::string& s,
                     const CallArgs& a) { return Value(PyReplace(s, a.Arg(0, "old").Str(), a.Arg(1, "new").Str())); }},
      {"find",
       [](const std::string& s, const CallArgs& a) {
         const size_t p = s.find(a.Arg(0, "sub").Str());
         return Value(p == std::string::npos ? int64_t{-1} : CodePoints(s.substr(0, p)));
       }},
      {"count",
       [](const std::string& s, const CallArgs& a) {
         const std::string sub = a.Arg(0, "sub").Str();
         int64_t n = 0;
         for (size_t p = s.find(sub); !sub.empty() && p != std::string::npos; p = s.find(sub, p + sub.size())) ++n;
         return Value(n);
       }},
      {"isdigit",
       [](const std::string& s, const CallArgs&) {
         return Value(!s.empty() && std::all_of(s.begin(), s.end(),
                                                [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }));
       }},
      {"isspace", [](const std::string& s,
                     const CallArgs&) { return Value(!s.empty() && std::all_of(s.begin(), s.end(), IsAsciiSpace)); }},
  };
  return kMethods;
}

}  // namespace

Value StringMethod(const std::string& s, const std::string& name) {
  const auto it = Methods().find(name);
  if (it == Methods().end()) return Value::Undefined("'str object' has no attribute '" + name + "'");
  const Method& method = it->second;
  return Value::Callable([s, &method](const CallArgs& a) { return method(s, a); });
}

}  // namespace prlm::jinja
