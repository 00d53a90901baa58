#include "common/text/metrics.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>
#include <unordered_map>

#include "common/text/porter_stemmer.h"
#include "common/text/unicode.h"
#include "common/util/check.h"

namespace prlm::text {
namespace {

using Ngrams = std::unordered_map<std::string, int>;

Ngrams CountNgrams(const std::vector<std::string>& tokens, size_t n) {
  Ngrams counts;
  for (size_t i = 0; i + n <= tokens.size(); ++i) {
    std::string key = tokens[i];
    for (size_t j = 1; j < n; ++j) (key += '\x1f') += tokens[i + j];
    ++counts[key];
  }
  return counts;
}

RougeScore FromCounts(double overlap, double prediction_total, double target_total) {
  RougeScore s;
  s.precision = overlap / std::max(prediction_total, 1.0);
  s.recall = overlap / std::max(target_total, 1.0);
  s.f = s.precision + s.recall > 0 ? 2 * s.precision * s.recall / (s.precision + s.recall) : 0;
  return s;
}

RougeScore RougeN(const std::vector<std::string>& target, const std::vector<std::string>& pred, size_t n) {
  const Ngrams t = CountNgrams(target, n), p = CountNgrams(pred, n);
  double overlap = 0, pt = 0, tt = 0;
  for (const auto& [k, c] : t) {
    tt += c;
    if (auto it = p.find(k); it != p.end()) overlap += std::min(c, it->second);
  }
  for (const auto& [k, c] : p) pt += c;
  return FromCounts(overlap, pt, tt);
}

size_t LcsLength(const std::vector<std::string>& a, const std::vector<std::string>& b) {
  std::vector<size_t> prev(b.size() + 1, 0), cur(b.size() + 1, 0);
  for (size_t i = 1; i <= a.size(); ++i) {
    for (size_t j = 1; j <= b.size(); ++j)
      cur[j] = a[i - 1] == b[j - 1] ? prev[j - 1] + 1 : std::max(prev[j], cur[j - 1]);
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

}  // namespace

std::vector<std::string> RougeTokenize(std::string_view text, bool stem) {
  // Python's str.lower() then [^a-z0-9]+ -> " ": only ASCII letters and digits
  // survive, plus the two non-ASCII characters whose lowercase is ASCII.
  std::vector<std::string> tokens;
  std::string cur;
  auto flush = [&] {
    if (cur.empty()) return;
    tokens.push_back(stem && cur.size() > 3 ? PorterStem(cur) : cur);
    cur.clear();
  };
  size_t pos = 0;
  while (pos < text.size()) {
    const unsigned char c = text[pos];
    if (c < 0x80) {
      ++pos;
      if (c >= 'A' && c <= 'Z')
        cur += char(c - 'A' + 'a');
      else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))
        cur += char(c);
      else
        flush();
      continue;
    }
    const char32_t cp = NextCodepoint(text, pos);
    if (cp == 0x130) {  // İ lowers to i + U+0307, and the mark separates
      cur += 'i';
      flush();
    } else if (cp == 0x212A) {  // KELVIN SIGN lowers to k
      cur += 'k';
    } else {
      flush();
    }
  }
  flush();
  return tokens;
}

RougeScores Rouge(std::string_view target, std::string_view prediction, bool stem) {
  const auto t = RougeTokenize(target, stem), p = RougeTokenize(prediction, stem);
  RougeScores s;
  s.rouge1 = RougeN(t, p, 1);
  s.rouge2 = RougeN(t, p, 2);
  s.rougeL = FromCounts(static_cast<double>(LcsLength(t, p)), p.size(), t.size());
  return s;
}

namespace {

// Python's str.replace: every non-overlapping occurrence, left to right, in
// one pass (the result is not scanned again).
std::string ReplaceAll(std::string_view s, std::string_view from, std::string_view to) {
  std::string out;
  size_t pos = 0;
  while (true) {
    const size_t at = s.find(from, pos);
    if (at == std::string_view::npos) break;
    out.append(s.substr(pos, at - pos)).append(to);
    pos = at + from.size();
  }
  return out.append(s.substr(pos));
}

bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsPeriodOrComma(char c) { return c == '.' || c == ','; }

// re.sub(r"(X)(Y)", ...) for one-character X and Y: left-to-right,
// non-overlapping matches of a pair, each rewritten by `emit`. Bytes stand in
// for characters: X and Y only ever match ASCII on one side, and a UTF-8
// continuation byte is never '.', ',' '-' or a digit.
template <typename First, typename Second, typename Emit>
std::string SubstitutePairs(const std::string& s, First first, Second second, Emit emit) {
  std::string out;
  out.reserve(s.size() + s.size() / 4);
  size_t i = 0;
  while (i < s.size()) {
    if (i + 1 < s.size() && first(s[i]) && second(s[i + 1])) {
      emit(out, s[i], s[i + 1]);
      i += 2;
    } else {
      out += s[i++];
    }
  }
  return out;
}

}  // namespace

std::vector<std::string> Tokenize13a(std::string_view text) {
  // 1. mteval-v13a's normalisation, one whole-line replace after another.
  std::string s = ReplaceAll(text, "<skipped>", "");
  s = ReplaceAll(s, "-\n", "");
  s = ReplaceAll(s, "\n", " ");
  if (s.find('&') != std::string::npos)
    for (const auto& [from, to] : {std::pair{"&quot;", "\""}, {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}})
      s = ReplaceAll(s, from, to);
  // 2. Pad ASCII symbols with spaces ({-~ [-` space-& (-+ :-@ /).
  std::string padded = " ";
  for (char c : s) {
    const bool symbol = (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
                        (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
    if (symbol)
      (padded += ' ') += c, padded += ' ';
    else
      padded += c;
  }
  padded += ' ';
  // 3. The three regular expressions, in turn: period/comma after a
  //    non-digit, period/comma before a non-digit, dash after a digit.
  auto not_digit = [](char c) { return !IsDigit(c); };
  padded = SubstitutePairs(padded, not_digit, IsPeriodOrComma,
                           [](std::string& o, char a, char b) { ((o += a) += ' ') += b, o += ' '; });
  padded = SubstitutePairs(padded, IsPeriodOrComma, not_digit,
                           [](std::string& o, char a, char b) { ((o += ' ') += a) += ' ', o += b; });
  padded = SubstitutePairs(
      padded, IsDigit, [](char c) { return c == '-'; },
      [&](std::string& o, char a, char b) { ((o += a) += ' ') += b, o += ' '; });
  // 4. Split on whitespace as Python's str.split() does.
  std::vector<std::string> tokens;
  for (auto piece : SplitPythonWhitespace(padded)) tokens.emplace_back(piece);
  return tokens;
}

namespace {

BleuScore Bleu(const std::vector<std::string>& hypotheses, const std::vector<std::vector<std::string>>& references,
               bool effective_order) {
  PRLM_REQUIRE(!references.empty(), "BLEU needs at least one reference stream");
  for (const auto& stream : references)
    PRLM_REQUIRE(stream.size() == hypotheses.size(), "BLEU: a reference stream has " << stream.size() << " lines for "
                                                                                     << hypotheses.size()
                                                                                     << " hypotheses");
  double correct[4] = {0, 0, 0, 0}, total[4] = {0, 0, 0, 0};
  BleuScore out;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    // sacreBLEU strips trailing whitespace from every segment before tokenizing.
    const auto hyp = Tokenize13a(RStripPythonWhitespace(hypotheses[i]));
    out.hypothesis_length += hyp.size();
    size_t best_len = 0;
    long best_diff = -1;
    std::vector<Ngrams> max_ref(4);
    for (const auto& stream : references) {
      const auto ref = Tokenize13a(RStripPythonWhitespace(stream[i]));
      const long diff = std::labs(long(ref.size()) - long(hyp.size()));
      if (best_diff < 0 || diff < best_diff || (diff == best_diff && ref.size() < best_len)) {
        best_diff = diff;
        best_len = ref.size();
      }
      for (size_t n = 1; n <= 4; ++n)
        for (const auto& [k, c] : CountNgrams(ref, n)) max_ref[n - 1][k] = std::max(max_ref[n - 1][k], c);
    }
    out.reference_length += best_len;
    for (size_t n = 1; n <= 4; ++n) {
      for (const auto& [k, c] : CountNgrams(hyp, n)) {
        total[n - 1] += c;
        if (auto it = max_ref[n - 1].find(k); it != max_ref[n - 1].end()) correct[n - 1] += std::min(c, it->second);
      }
    }
  }
  if (out.hypothesis_length == 0 || correct[0] + correct[1] + correct[2] + correct[3] == 0)
    return out;  // sacreBLEU stops early when nothing matches
  // Effective order (sentence BLEU): only orders the hypothesis has n-grams of.
  int order = 4;
  if (effective_order)
    while (order > 1 && total[order - 1] == 0) --order;
  double smooth = 1, log_sum = 0;
  for (int n = 0; n < order; ++n) {
    if (total[n] == 0) return out;  // log(0): BLEU is 0
    if (correct[n] == 0) {
      smooth *= 2;
      out.precisions[n] = 100.0 / (smooth * total[n]);
    } else {
      out.precisions[n] = 100.0 * correct[n] / total[n];
    }
    log_sum += std::log(out.precisions[n] / 100.0);
  }
  const double c = out.hypothesis_length, r = out.reference_length;
  out.brevity_penalty = c < r ? std::exp(1 - r / c) : 1.0;
  out.score = 100.0 * out.brevity_penalty * std::exp(log_sum / order);
  return out;
}

}  // namespace

BleuScore CorpusBleu(const std::vector<std::string>& hypotheses,
                     const std::vector<std::vector<std::string>>& references) {
  return Bleu(hypotheses, references, /*effective_order=*/false);
}

BleuScore SentenceBleu(std::string_view hypothesis, const std::vector<std::string>& references) {
  std::vector<std::vector<std::string>> streams;
  for (const auto& r : references) streams.push_back({r});
  return Bleu({std::string(hypothesis)}, streams, /*effective_order=*/true);
}

}  // namespace prlm::text
