#include "common/text/meteor.h"

#include <algorithm>
#include <cmath>
#include <utility>

#include "common/text/porter_stemmer.h"
#include "common/text/unicode.h"
#include "common/text/word_tokenize.h"
#include "common/text/wordnet.h"

namespace prlm::text {
namespace {

// (position in the original list, word) -- NLTK's "enum" lists.
using Enumerated = std::vector<std::pair<int, std::string>>;
using Matches = std::vector<std::pair<int, int>>;  // (hypothesis position, reference position)

// One alignment stage: for each hypothesis word from the last, the last
// still-unmatched reference word that `accepts_for(word)` accepts; matched
// words leave both lists. (The acceptor is made once per hypothesis word: the
// synonym stage looks its synonyms up once.)
template <typename AcceptsFor>
void MatchStage(Enumerated& hyp, Enumerated& ref, Matches& matches, AcceptsFor accepts_for) {
  for (int i = static_cast<int>(hyp.size()) - 1; i >= 0; --i) {
    const auto accepts = accepts_for(hyp[i].second);
    for (int j = static_cast<int>(ref.size()) - 1; j >= 0; --j) {
      if (!accepts(ref[j].second)) continue;
      matches.emplace_back(hyp[i].first, ref[j].first);
      hyp.erase(hyp.begin() + i);
      ref.erase(ref.begin() + j);
      break;
    }
  }
}

// Python's str.lower(): Unicode lower case, with U+0130 -> "i" + U+0307.
std::string PythonLower(const std::string& word) {
  std::string out;
  size_t pos = 0;
  while (pos < word.size()) {
    const size_t start = pos;
    const char32_t cp = NextCodepoint(word, pos);
    if (cp == 0x130)
      out += "i\xCC\x87";
    else
      out += Lowercase(std::string_view(word).substr(start, pos - start));
  }
  return out;
}

int CountChunks(const Matches& sorted) {
  int chunks = 1;
  for (size_t i = 0; i + 1 < sorted.size(); ++i)
    if (!(sorted[i + 1].first == sorted[i].first + 1 && sorted[i + 1].second == sorted[i].second + 1)) ++chunks;
  return chunks;
}

}  // namespace

double SingleMeteorScore(const std::vector<std::string>& reference, const std::vector<std::string>& hypothesis,
                         const WordNet& wordnet, const MeteorParams& params) {
  Enumerated hyp, ref;
  for (size_t i = 0; i < hypothesis.size(); ++i) hyp.emplace_back(int(i), PythonLower(hypothesis[i]));
  for (size_t j = 0; j < reference.size(); ++j) ref.emplace_back(int(j), PythonLower(reference[j]));
  Matches matches;
  const auto equal_to = [](const std::string& h) { return [&h](const std::string& r) { return r == h; }; };
  // 1. Exact words.
  MatchStage(hyp, ref, matches, equal_to);
  // 2. Porter stems; the stems stay in the lists for the synonym stage.
  for (auto* list : {&hyp, &ref})
    for (auto& [position, word] : *list) word = PorterStem(word);
  MatchStage(hyp, ref, matches, equal_to);
  // 3. WordNet synonyms of the hypothesis word.
  MatchStage(hyp, ref, matches, [&wordnet](const std::string& h) {
    return [synonyms = wordnet.Synonyms(h)](const std::string& r) { return synonyms.count(r) > 0; };
  });
  const double m = static_cast<double>(matches.size());
  if (m == 0 || hypothesis.empty() || reference.empty()) return 0.0;
  std::sort(matches.begin(), matches.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  const double precision = m / static_cast<double>(hypothesis.size());
  const double recall = m / static_cast<double>(reference.size());
  const double fmean = precision * recall / (params.alpha * precision + (1 - params.alpha) * recall);
  const double fragmentation = CountChunks(matches) / m;
  const double penalty = params.gamma * std::pow(fragmentation, params.beta);
  return (1 - penalty) * fmean;
}

double Meteor(std::string_view reference, std::string_view prediction, const MeteorParams& params) {
  return SingleMeteorScore(NltkWordTokenize(reference), NltkWordTokenize(prediction), WordNet::Default(), params);
}

}  // namespace prlm::text
