#include "common/jinja/lexer.h"

#include <algorithm>

#include "common/jinja/py_unicode.h"
#include "common/jinja/template_error.h"
#include "common/text/unicode.h"

namespace prlm::jinja {

namespace {

// The end of a tag opened before `from`: the offset of `close` outside quotes.
size_t FindClose(const std::string& src, size_t from, const char* close, int line) {
  char quote = 0;
  for (size_t p = from; p + 1 < src.size(); ++p) {
    const char c = src[p];
    if (quote) {
      if (c == '\\')
        ++p;
      else if (c == quote)
        quote = 0;
    } else if (c == '\'' || c == '"') {
      quote = c;
    } else if (c == close[0] && src[p + 1] == close[1]) {
      return p;
    }
  }
  Fail(line, std::string("unclosed tag: no '") + close + "'");
}

}  // namespace

std::string NormalizeLineEnds(const std::string& source) {
  std::string out;
  out.reserve(source.size());
  for (size_t k = 0; k < source.size(); ++k) {
    if (source[k] != '\r')
      out += source[k];
    else if (k + 1 < source.size() && source[k + 1] == '\n')
      continue;  // \r\n: the \n follows
    else
      out += '\n';
  }
  if (!out.empty() && out.back() == '\n') out.pop_back();
  return out;
}

std::vector<Piece> Lex(const std::string& src, const TemplateOptions& o) {
  std::vector<Piece> out;
  size_t pos = 0;
  bool strip_next = false;
  const auto line_of = [&](size_t at) { return 1 + static_cast<int>(std::count(src.begin(), src.begin() + at, '\n')); };
  while (pos <= src.size()) {
    size_t open = pos;
    while ((open = src.find('{', open)) != std::string::npos &&
           (open + 1 >= src.size() || (src[open + 1] != '{' && src[open + 1] != '%' && src[open + 1] != '#')))
      ++open;
    std::string text = src.substr(pos, open == std::string::npos ? std::string::npos : open - pos);
    if (strip_next) {  // str.isspace() whitespace, as Jinja2's \s* after a "-" tag
      size_t k = 0;
      for (size_t n; (n = SpaceBytesAt(text, k)) > 0;) k += n;
      text.erase(0, k);
    }
    if (open == std::string::npos) {
      if (!text.empty()) out.push_back({Piece::kText, text, line_of(pos)});
      break;
    }
    const char kind = src[open + 1];
    size_t inner = open + 2;
    const bool minus = inner < src.size() && src[inner] == '-';
    const bool plus = inner < src.size() && src[inner] == '+';
    if (minus || plus) ++inner;
    if (minus) {  // as Jinja2's text.rstrip()
      text.resize(text::RStripPythonWhitespace(text).size());
    } else if (o.lstrip_blocks && kind != '{' && !plus) {
      // Spaces and tabs between a line's start and a block tag go.
      const size_t nl = text.rfind('\n');
      const size_t from = nl == std::string::npos ? 0 : nl + 1;
      const bool line_start = nl != std::string::npos || pos == 0 || src[pos - 1] == '\n';
      if (line_start &&
          std::all_of(text.begin() + static_cast<long>(from), text.end(), [](char c) { return c == ' ' || c == '\t'; }))
        text.erase(from);
    }
    const int line = line_of(open);
    if (!text.empty()) out.push_back({Piece::kText, text, line_of(pos)});
    const char* close = kind == '{' ? "}}" : kind == '%' ? "%}" : "#}";
    size_t end = kind == '#' ? src.find("#}", inner) : FindClose(src, inner, close, line);
    if (end == std::string::npos) Fail(line, "unclosed comment: no '#}'");
    const bool close_minus = end > inner && src[end - 1] == '-';
    const bool close_plus = end > inner && src[end - 1] == '+';
    std::string body = src.substr(inner, end - inner - (close_minus || close_plus ? 1 : 0));
    size_t after = end + 2;
    strip_next = close_minus;
    if (!close_minus && !close_plus && o.trim_blocks && kind != '{') {
      if (after < src.size() && src[after] == '\n')
        ++after;
      else if (after + 1 < src.size() && src[after] == '\r' && src[after + 1] == '\n')
        after += 2;
    }
    if (kind != '#') out.push_back({kind == '{' ? Piece::kExpr : Piece::kStmt, body, line});
    pos = after;
  }
  return out;
}

}  // namespace prlm::jinja
