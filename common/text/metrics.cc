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

RougeScore RougeN(const std::vector<std::string>& target, const std::vector<std::string>& pred,
                  size_t n) {
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
      if (c >= 'A' && c <= 'Z') cur += char(c - 'A' + 'a');
      else if ((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9')) cur += char(c);
      else flush();
      continue;
    }
    const char32_t cp = NextCodepoint(text, pos);
    if (cp == 0x130) cur += 'i';        // İ -> i + U+0307; the mark is dropped
    else if (cp == 0x212A) cur += 'k';  // KELVIN SIGN -> k
    else flush();
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

std::vector<std::string> Tokenize13a(std::string_view text_in) {
  // 1. mteval-v13a's normalisation of the line.
  std::string s;
  s.reserve(text_in.size() + 16);
  for (size_t i = 0; i < text_in.size(); ++i) {
    if (text_in.compare(i, 9, "<skipped>") == 0) { i += 8; continue; }
    if (text_in[i] == '-' && i + 1 < text_in.size() && text_in[i + 1] == '\n') { ++i; continue; }
    s += text_in[i] == '\n' ? ' ' : text_in[i];
  }
  if (s.find('&') != std::string::npos) {
    static const std::pair<const char*, const char*> kEntities[] = {
        {"&quot;", "\""}, {"&amp;", "&"}, {"&lt;", "<"}, {"&gt;", ">"}};
    for (const auto& [from, to] : kEntities) {
      size_t at;
      while ((at = s.find(from)) != std::string::npos) s.replace(at, std::strlen(from), to);
    }
  }
  // 2. Pad punctuation with spaces: ASCII symbols always; '.' and ',' unless
  //    between digits; '-' after a digit.
  auto is_digit = [](char c) { return c >= '0' && c <= '9'; };
  auto is_symbol = [](char c) {
    return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
           (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
  };
  std::string padded = " ";
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const char prev = i > 0 ? s[i - 1] : ' ', next = i + 1 < s.size() ? s[i + 1] : ' ';
    if (c != ' ' && is_symbol(c)) {
      padded += ' ';
      padded += c;
      padded += ' ';
    } else if (c == '.' || c == ',') {
      // ([^0-9])([\.,]) and ([\.,])([^0-9]) both pad; only digit.digit stays.
      const bool keep = i > 0 && is_digit(prev) && i + 1 < s.size() && is_digit(next);
      if (keep) padded += c;
      else { padded += ' '; padded += c; padded += ' '; }
    } else if (c == '-' && i > 0 && is_digit(prev)) {
      padded += ' ';
      padded += c;
      padded += ' ';
    } else {
      padded += c;
    }
  }
  std::vector<std::string> tokens;
  std::string cur;
  for (char c : padded) {
    if (c == ' ' || c == '\t' || c == '\r' || c == '\f' || c == '\v') {
      if (!cur.empty()) tokens.push_back(std::move(cur));
      cur.clear();
    } else {
      cur += c;
    }
  }
  if (!cur.empty()) tokens.push_back(std::move(cur));
  return tokens;
}

namespace {

BleuScore Bleu(const std::vector<std::string>& hypotheses,
               const std::vector<std::vector<std::string>>& references, bool effective_order) {
  PRLM_REQUIRE(!references.empty(), "BLEU needs at least one reference stream");
  for (const auto& stream : references)
    PRLM_REQUIRE(stream.size() == hypotheses.size(),
                 "BLEU: a reference stream has " << stream.size() << " lines for "
                                                 << hypotheses.size() << " hypotheses");
  double correct[4] = {0, 0, 0, 0}, total[4] = {0, 0, 0, 0};
  BleuScore out;
  for (size_t i = 0; i < hypotheses.size(); ++i) {
    const auto hyp = Tokenize13a(hypotheses[i]);
    out.hypothesis_length += hyp.size();
    size_t best_len = 0;
    long best_diff = -1;
    std::vector<Ngrams> max_ref(4);
    for (const auto& stream : references) {
      const auto ref = Tokenize13a(stream[i]);
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
        if (auto it = max_ref[n - 1].find(k); it != max_ref[n - 1].end())
          correct[n - 1] += std::min(c, it->second);
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
