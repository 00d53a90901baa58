#include "common/jinja/py_unicode.h"

#include <algorithm>
#include <iterator>

#include "common/text/unicode.h"

namespace prlm::jinja {
namespace {

struct CodepointRange {
  char32_t first, last;
};
// c in first..last with (c - first) % stride == 0 (stride 0: c == first)
// maps to c + delta.
struct CaseRun {
  char32_t first, last;
  int stride, delta;
};
struct CaseSpecial {
  char32_t c;
  const char32_t* mapping;
};

#include "common/jinja/py_unicode_tables.inc"

template <size_t N>
bool InRanges(const CodepointRange (&ranges)[N], char32_t c) {
  const auto* it = std::upper_bound(std::begin(ranges), std::end(ranges), c,
                                    [](char32_t x, const CodepointRange& r) { return x < r.first; });
  return it != std::begin(ranges) && c <= std::prev(it)->last;
}

template <size_t R, size_t S>
void AppendMapped(const CaseRun (&runs)[R], const CaseSpecial (&special)[S], char32_t c, std::u32string* out) {
  const auto* sp = std::lower_bound(std::begin(special), std::end(special), c,
                                    [](const CaseSpecial& e, char32_t x) { return e.c < x; });
  if (sp != std::end(special) && sp->c == c) {
    out->append(sp->mapping);
    return;
  }
  const auto* it =
      std::upper_bound(std::begin(runs), std::end(runs), c, [](char32_t x, const CaseRun& r) { return x < r.first; });
  if (it != std::begin(runs)) {
    const CaseRun& r = *std::prev(it);
    const char32_t offset = c - r.first;
    if (c <= r.last && (r.stride == 0 ? offset == 0 : offset % static_cast<char32_t>(r.stride) == 0)) {
      out->push_back(static_cast<char32_t>(static_cast<int64_t>(c) + r.delta));
      return;
    }
  }
  out->push_back(c);
}

}  // namespace

bool PyIsSpace(char32_t c) { return text::IsPythonWhitespace(c); }

size_t SpaceBytesAt(std::string_view s, size_t at) {
  size_t next = at;
  return at < s.size() && PyIsSpace(text::NextCodepoint(s, next)) ? next - at : 0;
}
bool PyIsDigit(char32_t c) { return InRanges(kDigit, c); }
bool PyIsCased(char32_t c) { return InRanges(kCased, c); }
bool PyIsCaseIgnorable(char32_t c) { return InRanges(kCaseIgnorable, c); }

void AppendUpper(char32_t c, std::u32string* out) { AppendMapped(kUpperRuns, kUpperSpecial, c, out); }
void AppendLower(char32_t c, std::u32string* out) { AppendMapped(kLowerRuns, kLowerSpecial, c, out); }
void AppendTitle(char32_t c, std::u32string* out) { AppendMapped(kTitleRuns, kTitleSpecial, c, out); }

}  // namespace prlm::jinja
