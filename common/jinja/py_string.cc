#include "common/jinja/py_string.h"

#include <algorithm>
#include <functional>
#include <limits>
#include <map>

#include "common/jinja/py_unicode.h"
#include "common/jinja/template_error.h"
#include "common/text/unicode.h"

namespace prlm::jinja {
namespace {

using Codepoints = std::u32string;

Codepoints Decode(const std::string& s) { return text::ToCodepoints(s); }
std::string Encode(const Codepoints& c) { return text::ToUtf8(c); }

// str.lower() of s[i]: U+03A3 becomes the final sigma after a cased
// character (case-ignorable ones between) unless a cased one follows.
void AppendLowerAt(const Codepoints& s, size_t i, Codepoints* out) {
  if (s[i] != 0x3A3) return AppendLower(s[i], out);
  size_t j = i;
  while (j > 0 && PyIsCaseIgnorable(s[j - 1])) --j;
  bool final_sigma = j > 0 && PyIsCased(s[j - 1]);
  if (final_sigma) {
    size_t k = i + 1;
    while (k < s.size() && PyIsCaseIgnorable(s[k])) ++k;
    final_sigma = k == s.size() || !PyIsCased(s[k]);
  }
  out->push_back(final_sigma ? 0x3C2 : 0x3C3);
}

Codepoints LowerOf(const Codepoints& s) {
  Codepoints out;
  for (size_t i = 0; i < s.size(); ++i) AppendLowerAt(s, i, &out);
  return out;
}

// Python's ADJUST_INDICES: start / end of a slice over `len` code points
// (undefined or none: 0 / len; negative: from the end). start may exceed len.
struct Span {
  int64_t start, end;
};
Span Adjust(int64_t len, const Value& start, const Value& end) {
  int64_t s = start.is_number() ? start.i() : 0, e = end.is_number() ? end.i() : len;
  if (e > len) {
    e = len;
  } else if (e < 0) {
    e = std::max<int64_t>(0, e + len);
  }
  if (s < 0) s = std::max<int64_t>(0, s + len);
  return {s, e};
}

int64_t Len(const Codepoints& s) { return static_cast<int64_t>(s.size()); }

int64_t Find(const Codepoints& s, const Codepoints& sub, Span span) {
  if (span.end - span.start < Len(sub)) return -1;
  const size_t at = s.substr(0, static_cast<size_t>(span.end)).find(sub, static_cast<size_t>(span.start));
  return at == Codepoints::npos ? -1 : static_cast<int64_t>(at);
}

int64_t Count(const Codepoints& s, const Codepoints& sub, Span span) {
  if (span.end - span.start < Len(sub)) return 0;
  if (sub.empty()) return span.end - span.start + 1;
  const Codepoints hay = s.substr(static_cast<size_t>(span.start), static_cast<size_t>(span.end - span.start));
  int64_t n = 0;
  for (size_t p = hay.find(sub); p != Codepoints::npos; p = hay.find(sub, p + sub.size())) ++n;
  return n;
}

// str.startswith / endswith of one affix over s[start:end].
bool TailMatch(const Codepoints& s, const Codepoints& affix, Span span, bool prefix) {
  const int64_t last_start = span.end - Len(affix);
  if (last_start < span.start) return false;
  const size_t at = static_cast<size_t>(prefix ? span.start : last_start);
  return s.compare(at, affix.size(), affix) == 0;
}

}  // namespace

std::string PyStrip(const std::string& s, const Value& chars, bool left, bool right) {
  const Codepoints c = Decode(s);
  const Codepoints set = chars.is_string() ? Decode(chars.s()) : Codepoints();
  const auto strip = [&](char32_t x) { return chars.is_string() ? set.find(x) != Codepoints::npos : PyIsSpace(x); };
  size_t b = 0, e = c.size();
  if (left)
    while (b < e && strip(c[b])) ++b;
  if (right)
    while (e > b && strip(c[e - 1])) --e;
  return Encode(c.substr(b, e - b));
}

std::vector<std::string> PySplit(const std::string& str, const Value& sep, int64_t max_split, bool from_right) {
  const Codepoints s = Decode(str);
  int64_t splits_left = max_split < 0 ? std::numeric_limits<int64_t>::max() : max_split;
  std::vector<std::string> out;
  const auto add = [&](size_t from, size_t to) { out.push_back(Encode(s.substr(from, to - from))); };
  if (!sep.is_string()) {  // whitespace runs, no empty parts
    if (!from_right) {
      size_t i = 0;
      for (; splits_left-- > 0;) {
        while (i < s.size() && PyIsSpace(s[i])) ++i;
        if (i == s.size()) break;
        const size_t j = i;
        while (i < s.size() && !PyIsSpace(s[i])) ++i;
        add(j, i);
      }
      while (i < s.size() && PyIsSpace(s[i])) ++i;  // the limit was reached: the rest, left-stripped
      if (i < s.size()) add(i, s.size());
    } else {
      size_t i = s.size();  // one past the next character to look at
      for (; splits_left-- > 0;) {
        while (i > 0 && PyIsSpace(s[i - 1])) --i;
        if (i == 0) break;
        const size_t j = i;
        while (i > 0 && !PyIsSpace(s[i - 1])) --i;
        add(i, j);
      }
      while (i > 0 && PyIsSpace(s[i - 1])) --i;
      if (i > 0) add(0, i);
      std::reverse(out.begin(), out.end());
    }
    return out;
  }
  const Codepoints d = Decode(sep.s());
  if (d.empty()) throw TemplateError("split: empty separator");
  if (!from_right) {
    size_t p = 0;
    for (size_t at; splits_left > 0 && (at = s.find(d, p)) != Codepoints::npos; --splits_left, p = at + d.size())
      add(p, at);
    add(p, s.size());
  } else {
    size_t end = s.size();
    for (; splits_left > 0 && end >= d.size(); --splits_left) {
      const size_t at = s.rfind(d, end - d.size());
      if (at == Codepoints::npos) break;
      add(at + d.size(), end);
      end = at;
    }
    add(0, end);
    std::reverse(out.begin(), out.end());
  }
  return out;
}

std::vector<std::string> PySplitLines(const std::string& str) {
  const Codepoints s = Decode(str);
  std::vector<std::string> lines;
  size_t start = 0;
  for (size_t k = 0; k < s.size(); ++k) {
    const char32_t c = s[k];
    const bool ends = c == '\n' || c == '\r' || c == '\v' || c == '\f' || (c >= 0x1c && c <= 0x1e) || c == 0x85 ||
                      c == 0x2028 || c == 0x2029;
    if (!ends) continue;
    lines.push_back(Encode(s.substr(start, k - start)));
    if (c == '\r' && k + 1 < s.size() && s[k + 1] == '\n') ++k;
    start = k + 1;
  }
  if (start < s.size()) lines.push_back(Encode(s.substr(start)));
  return lines;
}

std::string PyUpper(const std::string& str) {
  Codepoints out;
  for (char32_t c : Decode(str)) AppendUpper(c, &out);
  return Encode(out);
}

std::string PyLower(const std::string& str) { return Encode(LowerOf(Decode(str))); }

std::string PyTitle(const std::string& str) {
  const Codepoints s = Decode(str);
  Codepoints out;
  bool previous_is_cased = false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (previous_is_cased)
      AppendLowerAt(s, i, &out);
    else
      AppendTitle(s[i], &out);
    previous_is_cased = PyIsCased(s[i]);
  }
  return Encode(out);
}

std::string PyCapitalize(const std::string& str) {
  const Codepoints s = Decode(str);
  Codepoints out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 0)
      AppendTitle(s[i], &out);
    else
      AppendLowerAt(s, i, &out);
  }
  return Encode(out);
}

std::string JinjaTitle(const std::string& str) {
  // re.split(r"([-\s({\[<]+)", s): runs of separators and runs of the rest,
  // each item[0].upper() + item[1:].lower().
  const Codepoints s = Decode(str);
  const auto separator = [](char32_t c) {
    return PyIsSpace(c) || c == '-' || c == '(' || c == '{' || c == '[' || c == '<';
  };
  Codepoints out;
  for (size_t b = 0; b < s.size();) {
    size_t e = b + 1;
    while (e < s.size() && separator(s[e]) == separator(s[b])) ++e;
    AppendUpper(s[b], &out);
    out += LowerOf(s.substr(b + 1, e - b - 1));
    b = e;
  }
  return Encode(out);
}

std::string PyReplace(const std::string& str, const std::string& from, const std::string& to, int64_t count) {
  const Codepoints s = Decode(str), old = Decode(from), with = Decode(to);
  int64_t left = count < 0 ? std::numeric_limits<int64_t>::max() : count;
  Codepoints out;
  if (old.empty()) {  // `to` before every character and at the end, while the count lasts
    for (size_t i = 0; i <= s.size(); ++i) {
      if (left-- > 0) out += with;
      if (i < s.size()) out.push_back(s[i]);
    }
    return Encode(out);
  }
  size_t p = 0;
  for (size_t at; left > 0 && (at = s.find(old, p)) != Codepoints::npos; --left, p = at + old.size())
    out += s.substr(p, at - p) + with;
  out += s.substr(p);
  return Encode(out);
}

int64_t CodePoints(const std::string& s) { return Len(Decode(s)); }

namespace {

// One str method: `s` the string, `a` the call's arguments.
using Method = std::function<Value(const std::string& s, const CallArgs& a)>;

Value Affix(const std::string& str, const CallArgs& a, bool prefix) {
  const Codepoints s = Decode(str);
  const Span span = Adjust(Len(s), a.Arg(1, "start"), a.Arg(2, "end"));
  const Value affixes = a.Arg(0, prefix ? "prefix" : "suffix");
  const List options = affixes.is_list() ? affixes.list() : List{affixes};  // a tuple tries each
  for (const auto& o : options)
    if (TailMatch(s, Decode(o.Str()), span, prefix)) return Value(true);
  return Value(false);
}

Value FindOrCount(const std::string& str, const CallArgs& a, bool count) {
  const Codepoints s = Decode(str), sub = Decode(a.Arg(0, "sub").Str());
  const Span span = Adjust(Len(s), a.Arg(1, "start"), a.Arg(2, "end"));
  return Value(count ? Count(s, sub, span) : Find(s, sub, span));
}

Value Split(const std::string& s, const CallArgs& a, bool from_right) {
  const Value max = a.Arg(1, "maxsplit");
  List l;
  for (auto& part : PySplit(s, a.Arg(0, "sep"), max.is_number() ? max.i() : -1, from_right)) l.push_back(Value(part));
  return Value(std::move(l));
}

Value Lines(const std::vector<std::string>& parts) {
  List l;
  for (const auto& part : parts) l.push_back(Value(part));
  return Value(std::move(l));
}

Value All(const std::string& s, bool (*property)(char32_t)) {
  const Codepoints c = Decode(s);
  return Value(!c.empty() && std::all_of(c.begin(), c.end(), property));
}

const std::map<std::string, Method>& Methods() {
  static const std::map<std::string, Method> kMethods = {
      {"startswith", [](const std::string& s, const CallArgs& a) { return Affix(s, a, true); }},
      {"endswith", [](const std::string& s, const CallArgs& a) { return Affix(s, a, false); }},
      {"find", [](const std::string& s, const CallArgs& a) { return FindOrCount(s, a, false); }},
      {"count", [](const std::string& s, const CallArgs& a) { return FindOrCount(s, a, true); }},
      {"split", [](const std::string& s, const CallArgs& a) { return Split(s, a, false); }},
      {"rsplit", [](const std::string& s, const CallArgs& a) { return Split(s, a, true); }},
      {"splitlines", [](const std::string& s, const CallArgs&) { return Lines(PySplitLines(s)); }},
      {"strip",
       [](const std::string& s, const CallArgs& a) { return Value(PyStrip(s, a.Arg(0, "chars"), true, true)); }},
      {"lstrip",
       [](const std::string& s, const CallArgs& a) { return Value(PyStrip(s, a.Arg(0, "chars"), true, false)); }},
      {"rstrip",
       [](const std::string& s, const CallArgs& a) { return Value(PyStrip(s, a.Arg(0, "chars"), false, true)); }},
      {"upper", [](const std::string& s, const CallArgs&) { return Value(PyUpper(s)); }},
      {"lower", [](const std::string& s, const CallArgs&) { return Value(PyLower(s)); }},
      {"title", [](const std::string& s, const CallArgs&) { return Value(PyTitle(s)); }},
      {"capitalize", [](const std::string& s, const CallArgs&) { return Value(PyCapitalize(s)); }},
      {"replace",
       [](const std::string& s, const CallArgs& a) {
         const Value count = a.Arg(2, "count");
         return Value(PyReplace(s, a.Arg(0, "old").Str(), a.Arg(1, "new").Str(), count.is_number() ? count.i() : -1));
       }},
      {"isdigit", [](const std::string& s, const CallArgs&) { return All(s, PyIsDigit); }},
      {"isspace", [](const std::string& s, const CallArgs&) { return All(s, PyIsSpace); }},
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
