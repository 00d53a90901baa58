#include "common/text/porter_stemmer.h"

#include <algorithm>
#include <functional>
#include <initializer_list>
#include <utility>
#include <vector>

#include "common/text/unicode.h"

namespace prlm::text {
namespace {

bool EndsWith(std::string_view w, std::string_view suffix) {
  return w.size() >= suffix.size() && w.compare(w.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool IsConsonant(std::string_view w, size_t i) {
  switch (w[i]) {
    case 'a':
    case 'e':
    case 'i':
    case 'o':
    case 'u':
      return false;
    case 'y':
      return i == 0 || !IsConsonant(w, i - 1);
    default:
      return true;
  }
}

// m in [C](VC)^m[V]: the number of vowel-to-consonant transitions.
int Measure(std::string_view w) {
  int m = 0;
  for (size_t i = 1; i < w.size(); ++i)
    if (!IsConsonant(w, i - 1) && IsConsonant(w, i)) ++m;
  return m;
}
bool PositiveMeasure(std::string_view w) { return Measure(w) > 0; }
bool MeasureAbove1(std::string_view w) { return Measure(w) > 1; }

bool HasVowel(std::string_view w) {
  for (size_t i = 0; i < w.size(); ++i)
    if (!IsConsonant(w, i)) return true;
  return false;
}

bool EndsDoubleConsonant(std::string_view w) {
  return w.size() >= 2 && w.back() == w[w.size() - 2] && IsConsonant(w, w.size() - 1);
}

// *o: the stem ends consonant-vowel-consonant, the last not w, x or y; NLTK
// also accepts a stem that is exactly vowel-consonant.
bool EndsCvc(std::string_view w) {
  const size_t n = w.size();
  if (n >= 3 && IsConsonant(w, n - 3) && !IsConsonant(w, n - 2) && IsConsonant(w, n - 1) && w.back() != 'w' &&
      w.back() != 'x' && w.back() != 'y')
    return true;
  return n == 2 && !IsConsonant(w, 0) && IsConsonant(w, 1);
}

// One suffix rule: when the word ends with `suffix`, the rule decides --
// `condition(stem)` true gives stem + replacement, false leaves the word.
struct Rule {
  std::string_view suffix;
  std::string_view replacement;
  std::function<bool(std::string_view stem)> condition;  // empty: always
};

// The first rule whose suffix the word has decides (Porter's "longest match"
// is the rule order).
std::string ApplyFirst(const std::string& word, std::initializer_list<Rule> rules) {
  for (const auto& rule : rules) {
    if (!EndsWith(word, rule.suffix)) continue;
    const std::string_view stem = std::string_view(word).substr(0, word.size() - rule.suffix.size());
    if (!rule.condition || rule.condition(stem)) return std::string(stem) + std::string(rule.replacement);
    return word;
  }
  return word;
}

std::string Step1a(const std::string& w) {
  if (w.size() == 4 && EndsWith(w, "ies")) return w.substr(0, 1) + "ie";
  return ApplyFirst(w, {{"sses", "ss", {}}, {"ies", "i", {}}, {"ss", "ss", {}}, {"s", "", {}}});
}

std::string Step1b(const std::string& w) {
  if (EndsWith(w, "ied")) return w.substr(0, w.size() - 3) + (w.size() == 4 ? "ie" : "i");
  if (EndsWith(w, "eed")) {
    const std::string stem = w.substr(0, w.size() - 3);
    return Measure(stem) > 0 ? stem + "ee" : w;
  }
  std::string stem;
  bool removed = false;
  for (std::string_view suffix : {"ed", "ing"}) {
    if (EndsWith(w, suffix) && HasVowel(std::string_view(w).substr(0, w.size() - suffix.size()))) {
      stem = w.substr(0, w.size() - suffix.size());
      removed = true;
      break;
    }
  }
  if (!removed) return w;
  for (auto [suffix, replacement] : {std::pair{"at", "ate"}, {"bl", "ble"}, {"iz", "ize"}})
    if (EndsWith(stem, suffix)) return stem.substr(0, stem.size() - 2) + replacement;
  if (EndsDoubleConsonant(stem)) {
    const char last = stem.back();
    return last == 'l' || last == 's' || last == 'z' ? stem : stem.substr(0, stem.size() - 1);
  }
  return Measure(stem) == 1 && EndsCvc(stem) ? stem + "e" : stem;
}

std::string Step1c(const std::string& w) {
  return ApplyFirst(
      w, {{"y", "i", [](std::string_view stem) { return stem.size() > 1 && IsConsonant(stem, stem.size() - 1); }}});
}

std::string Step2(const std::string& w) {
  if (EndsWith(w, "alli") && PositiveMeasure(std::string_view(w).substr(0, w.size() - 4)))
    return Step2(w.substr(0, w.size() - 4) + "al");
  const auto m = PositiveMeasure;
  // "-logi" looks at the word less "ogi" (NLTK's condition, kept as it is).
  const std::string_view less_ogi = std::string_view(w).substr(0, w.size() >= 3 ? w.size() - 3 : 0);
  return ApplyFirst(
      w, {{"ational", "ate", m}, {"tional", "tion", m},
          {"enci", "ence", m},   {"anci", "ance", m},
          {"izer", "ize", m},    {"bli", "ble", m},
          {"alli", "al", m},     {"entli", "ent", m},
          {"eli", "e", m},       {"ousli", "ous", m},
          {"ization", "ize", m}, {"ation", "ate", m},
          {"ator", "ate", m},    {"alism", "al", m},
          {"iveness", "ive", m}, {"fulness", "ful", m},
          {"ousness", "ous", m}, {"aliti", "al", m},
          {"iviti", "ive", m},   {"biliti", "ble", m},
          {"fulli", "ful", m},   {"logi", "log", [&](std::string_view) { return PositiveMeasure(less_ogi); }}});
}

std::string Step3(const std::string& w) {
  const auto m = PositiveMeasure;
  return ApplyFirst(w, {{"icate", "ic", m},
                        {"ative", "", m},
                        {"alize", "al", m},
                        {"iciti", "ic", m},
                        {"ical", "ic", m},
                        {"ful", "", m},
                        {"ness", "", m}});
}

std::string Step4(const std::string& w) {
  const auto m = MeasureAbove1;
  const auto ion = [](std::string_view stem) {
    return Measure(stem) > 1 && !stem.empty() && (stem.back() == 's' || stem.back() == 't');
  };
  return ApplyFirst(w, {{"al", "", m},
                        {"ance", "", m},
                        {"ence", "", m},
                        {"er", "", m},
                        {"ic", "", m},
                        {"able", "", m},
                        {"ible", "", m},
                        {"ant", "", m},
                        {"ement", "", m},
                        {"ment", "", m},
                        {"ent", "", m},
                        {"ion", "", ion},
                        {"ou", "", m},
                        {"ism", "", m},
                        {"ate", "", m},
                        {"iti", "", m},
                        {"ous", "", m},
                        {"ive", "", m},
                        {"ize", "", m}});
}

std::string Step5a(const std::string& w) {
  if (!EndsWith(w, "e")) return w;
  const std::string stem = w.substr(0, w.size() - 1);
  const int m = Measure(stem);
  return m > 1 || (m == 1 && !EndsCvc(stem)) ? stem : w;
}

std::string Step5b(const std::string& w) {
  if (EndsWith(w, "ll") && Measure(std::string_view(w).substr(0, w.size() - 1)) > 1) return w.substr(0, w.size() - 1);
  return w;
}

// NLTK's irregular forms, looked up before any step.
const char* Irregular(std::string_view w) {
  static const std::pair<std::string_view, const char*> kForms[] = {
      {"sky", "sky"},        {"skies", "sky"},       {"dying", "die"},        {"lying", "lie"},
      {"tying", "tie"},      {"news", "news"},       {"innings", "inning"},   {"inning", "inning"},
      {"outings", "outing"}, {"outing", "outing"},   {"cannings", "canning"}, {"canning", "canning"},
      {"howe", "howe"},      {"proceed", "proceed"}, {"exceed", "exceed"},    {"succeed", "succeed"}};
  for (const auto& [form, stem] : kForms)
    if (form == w) return stem;
  return nullptr;
}

std::string StemOneBytePerLetter(std::string w) {
  if (const char* irregular = Irregular(w)) return irregular;
  if (w.size() <= 2) return w;
  for (auto step : {Step1a, Step1b, Step1c, Step2, Step3, Step4, Step5a, Step5b}) w = step(w);
  return w;
}

}  // namespace

std::string PorterStem(std::string_view word) {
  if (std::all_of(word.begin(), word.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; }))
    return StemOneBytePerLetter(std::string(word));
  // NLTK stems Python strings, one character per letter. Give each distinct
  // non-ASCII character one byte of its own (0x80 + n; all consonants to the
  // rules, none a suffix letter), stem, and map the bytes back.
  std::vector<char32_t> table;
  std::string mapped;
  size_t pos = 0;
  while (pos < word.size()) {
    const char32_t cp = NextCodepoint(word, pos);
    if (cp < 0x80) {
      mapped += static_cast<char>(cp);
      continue;
    }
    auto it = std::find(table.begin(), table.end(), cp);
    if (it == table.end()) {
      if (table.size() == 128) return std::string(word);  // no room: left unstemmed
      it = table.insert(table.end(), cp);
    }
    mapped += static_cast<char>(0x80 + (it - table.begin()));
  }
  std::string out;
  for (char c : StemOneBytePerLetter(mapped)) {
    const auto byte = static_cast<unsigned char>(c);
    if (byte < 0x80)
      out += c;
    else
      AppendUtf8(out, table[byte - 0x80]);
  }
  return out;
}

}  // namespace prlm::text
