#include "common/text/answer.h"

#include <cctype>

#include "common/text/unicode.h"

namespace prlm::text {
namespace {


bool IsQuote(char c) { return c == '\'' || c == '"'; }

}  // namespace

std::string UnwrapAnswerValue(std::string_view text) {
  std::string_view s = StripAsciiSpace(text);
  // {'key': 'value'} or 'key': 'value' (braces optional, either quote).
  std::string_view inner = s;
  if (!inner.empty() && inner.front() == '{') {
    inner.remove_prefix(1);
    if (!inner.empty() && inner.back() == '}') inner.remove_suffix(1);
    inner = StripAsciiSpace(inner);
  }
  if (!inner.empty() && IsQuote(inner.front())) {
    const char q = inner.front();
    const size_t key_end = inner.find(q, 1);
    if (key_end != std::string_view::npos) {
      std::string_view after_key = StripAsciiSpace(inner.substr(key_end + 1));
      bool is_key = !after_key.empty() && after_key.front() == ':';
      bool alnum_key = key_end > 1;
      for (size_t i = 1; i < key_end && alnum_key; ++i)
        alnum_key = std::isalnum(static_cast<unsigned char>(inner[i])) || inner[i] == '_';
      if (is_key && alnum_key) {
        std::string_view value = StripAsciiSpace(after_key.substr(1));
        if (!value.empty() && IsQuote(value.front())) {
          const char vq = value.front();
          const size_t close = value.rfind(vq);
          if (close > 0) return std::string(value.substr(1, close - 1));
          return std::string(StripAsciiSpace(value.substr(1)));  // unclosed quote: up to the end
        }
        return std::string(value);
      }
    }
  }
  // A bare quoted string.
  if (s.size() >= 2 && IsQuote(s.front()) && s.back() == s.front())
    return std::string(StripAsciiSpace(s.substr(1, s.size() - 2)));
  return std::string(s);
}

ExtractedAnswer ExtractAnswer(std::string_view completion) {
  ExtractedAnswer out;
  const size_t close = completion.rfind("</think>");
  if (close == std::string_view::npos) return out;
  out.closed_think = true;
  std::string_view rest = completion.substr(close + 8);
  if (size_t open = rest.find("<answer>"); open != std::string_view::npos) {
    out.answer_tags = true;
    rest = rest.substr(open + 8);
    if (size_t end = rest.find("</answer>"); end != std::string_view::npos) rest = rest.substr(0, end);
  }
  out.answer = UnwrapAnswerValue(rest);
  out.found = !out.answer.empty();
  return out;
}

}  // namespace prlm::text
