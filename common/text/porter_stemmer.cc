#include "common/text/porter_stemmer.h"

#include <initializer_list>
#include <utility>

namespace prlm::text {
namespace {

// The word being stemmed; `end` marks the current stem end, helpers look at w[0, end).
class Stemmer {
 public:
  explicit Stemmer(std::string_view word) : w_(word) {}

  std::string Run() {
    if (w_.size() <= 2) return w_;
    Step1a();
    Step1b();
    Step1c();
    Step2();
    Step3();
    Step4();
    Step5();
    return w_;
  }

 private:
  bool IsConsonant(size_t i) const {
    switch (w_[i]) {
      case 'a': case 'e': case 'i': case 'o': case 'u': return false;
      case 'y': return i == 0 || !IsConsonant(i - 1);
      default: return true;
    }
  }
  // m in [C](VC)^m[V] of w_[0, n).
  int Measure(size_t n) const {
    int m = 0;
    size_t i = 0;
    while (i < n && IsConsonant(i)) ++i;
    while (i < n) {
      while (i < n && !IsConsonant(i)) ++i;
      if (i >= n) break;
      while (i < n && IsConsonant(i)) ++i;
      ++m;
    }
    return m;
  }
  bool HasVowel(size_t n) const {
    for (size_t i = 0; i < n; ++i)
      if (!IsConsonant(i)) return true;
    return false;
  }
  bool EndsDoubleConsonant(size_t n) const {
    return n >= 2 && w_[n - 1] == w_[n - 2] && IsConsonant(n - 1);
  }
  // *o: the stem ends consonant-vowel-consonant, the last not w, x or y.
  bool EndsCvc(size_t n) const {
    if (n < 3 || !IsConsonant(n - 1) || IsConsonant(n - 2) || !IsConsonant(n - 3)) return false;
    char c = w_[n - 1];
    return c != 'w' && c != 'x' && c != 'y';
  }
  bool EndsWith(std::string_view s) const {
    return w_.size() >= s.size() && std::string_view(w_).substr(w_.size() - s.size()) == s;
  }
  size_t StemLen(std::string_view suffix) const { return w_.size() - suffix.size(); }
  void Replace(std::string_view suffix, std::string_view with) {
    w_.resize(w_.size() - suffix.size());
    w_ += with;
  }

  void Step1a() {
    if (EndsWith("sses")) Replace("sses", "ss");
    else if (EndsWith("ies")) Replace("ies", "i");
    else if (EndsWith("ss")) {}
    else if (EndsWith("s")) Replace("s", "");
  }
  void Step1b() {
    bool second_or_third = false;
    if (EndsWith("eed")) {
      if (Measure(StemLen("eed")) > 0) Replace("eed", "ee");
    } else if (EndsWith("ed") && HasVowel(StemLen("ed"))) {
      Replace("ed", "");
      second_or_third = true;
    } else if (EndsWith("ing") && HasVowel(StemLen("ing"))) {
      Replace("ing", "");
      second_or_third = true;
    }
    if (!second_or_third) return;
    if (EndsWith("at") || EndsWith("bl") || EndsWith("iz")) {
      w_ += 'e';
    } else if (EndsDoubleConsonant(w_.size())) {
      char c = w_.back();
      if (c != 'l' && c != 's' && c != 'z') w_.pop_back();
    } else if (Measure(w_.size()) == 1 && EndsCvc(w_.size())) {
      w_ += 'e';
    }
  }
  void Step1c() {
    if (EndsWith("y") && HasVowel(StemLen("y"))) w_.back() = 'i';
  }
  // Applies the first (longest-listed-first) rule whose suffix matches; only
  // that rule is considered, as in Porter's paper.
  void ApplyRules(std::initializer_list<std::pair<std::string_view, std::string_view>> rules,
                  int min_measure) {
    for (const auto& [suffix, with] : rules) {
      if (!EndsWith(suffix)) continue;
      if (Measure(StemLen(suffix)) > min_measure) Replace(suffix, with);
      return;
    }
  }
  void Step2() {
    ApplyRules({{"ational", "ate"}, {"tional", "tion"}, {"enci", "ence"}, {"anci", "ance"},
                {"izer", "ize"}, {"abli", "able"}, {"alli", "al"}, {"entli", "ent"}, {"eli", "e"},
                {"ousli", "ous"}, {"ization", "ize"}, {"ation", "ate"}, {"ator", "ate"},
                {"alism", "al"}, {"iveness", "ive"}, {"fulness", "ful"}, {"ousness", "ous"},
                {"aliti", "al"}, {"iviti", "ive"}, {"biliti", "ble"}},
               0);
  }
  void Step3() {
    ApplyRules({{"icate", "ic"}, {"ative", ""}, {"alize", "al"}, {"iciti", "ic"}, {"ical", "ic"},
                {"ful", ""}, {"ness", ""}},
               0);
  }
  void Step4() {
    // Longest suffix first where one ends another ("ement" > "ment" > "ent").
    static const std::string_view kByLength[] = {
        "ement", "ance", "ence", "able", "ible", "ment", "ant", "ent", "ion", "ism", "ate", "iti",
        "ous",   "ive",  "ize",  "al",   "er",   "ic",   "ou"};
    for (std::string_view suffix : kByLength) {
      if (!EndsWith(suffix)) continue;
      const size_t n = StemLen(suffix);
      bool ok = Measure(n) > 1;
      if (suffix == "ion") ok = ok && n > 0 && (w_[n - 1] == 's' || w_[n - 1] == 't');
      if (ok) Replace(suffix, "");
      return;
    }
  }
  void Step5() {
    if (EndsWith("e")) {
      const size_t n = StemLen("e");
      const int m = Measure(n);
      if (m > 1 || (m == 1 && !EndsCvc(n))) w_.pop_back();
    }
    if (Measure(w_.size()) > 1 && EndsDoubleConsonant(w_.size()) && w_.back() == 'l') w_.pop_back();
  }

  std::string w_;
};

}  // namespace

std::string PorterStem(std::string_view word) { return Stemmer(word).Run(); }

}  // namespace prlm::text
