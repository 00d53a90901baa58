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

namespace {

size_t Count(std::string_view text, std::string_view what) {
  size_t n = 0;
  for (size_t at = text.find(what); at != std::string_view::npos; at = text.find(what, at + what.size())) ++n;
  return n;
}

}  // namespace

bool HasReasoningFormat(std::string_view completion) {
  if (Count(completion, "</think>") != 1) return false;
  const size_t close = completion.find("</think>");
  std::string_view reasoning = completion.substr(0, close);
  std::string_view after = completion.substr(close + 8);
  if (const size_t open = reasoning.find("<think>"); open != std::string_view::npos) {
    if (!StripAsciiSpace(reasoning.substr(0, open)).empty()) return false;
    reasoning = reasoning.substr(open + 7);
    if (reasoning.find("<think>") != std::string_view::npos) return false;
  }
  if (StripAsciiSpace(reasoning).empty()) return false;
  if (after.find("<think>") != std::string_view::npos) return false;
  if (const size_t open = after.find("<answer>"); open != std::string_view::npos) {
    if (Count(after, "<answer>") != 1 || Count(after, "</answer>") != 1) return false;
    const size_t end = after.find("</answer>");
    if (end < open || !StripAsciiSpace(after.substr(end + 9)).empty()) return false;
  } else if (after.find("</answer>") != std::string_view::npos) {
    return false;
  }
  return ExtractAnswer(completion).found;
}

}  // namespace prlm::text
