#include "common/text/builtin_corpus.h"

#include <cctype>
#include <random>

namespace prlm::text {

std::vector<std::string> BuiltinCorpus(int sentences, uint64_t seed) {
  static const char* kSubjects[] = {"The city council", "A new study",    "Researchers",      "The company",
                                    "Local farmers",    "The government", "Scientists",       "Investors",
                                    "The team",         "Doctors",        "Engineers",        "Students",
                                    "The museum",       "A startup",      "The central bank", "Voters"};
  static const char* kVerbs[] = {"announced",  "reported",   "approved",     "rejected",    "discovered", "launched",
                                 "questioned", "celebrated", "warned about", "invested in", "studied",    "described"};
  static const char* kObjects[] = {"a plan to expand public transport",
                                   "record profits this quarter",
                                   "the effects of climate change on crops",
                                   "a faster method for training models",
                                   "new rules for online privacy",
                                   "the history of the river valley",
                                   "a vaccine for a common virus",
                                   "cheaper solar panels",
                                   "the price of housing",
                                   "a method for personalized text generation",
                                   "retrieval over user profiles",
                                   "reinforcement learning with group rewards",
                                   "the reasoning of language models"};
  static const char* kTails[] = {"on Monday.",
                                 "after months of debate.",
                                 "in a report released today.",
                                 "despite strong opposition.",
                                 "with support from local groups.",
                                 "at a press conference.",
                                 "in 2024.",
                                 "for the 3rd time.",
                                 "(see the full article).",
                                 "— experts say it matters."};
  static const char* kMarkup[] = {"<think>", "</think>", "<answer>", "</answer>", "{'title': '", "'}", "\n", "  "};
  std::mt19937_64 rng(seed);
  const auto pick = [&](const auto& arr) { return std::string(arr[rng() % (sizeof(arr) / sizeof(arr[0]))]); };
  // Invented names (syllable strings) give the vocabulary room to grow.
  static const char* kSyllables[] = {"ka",  "lo",  "mir", "te",  "sa", "vu",  "ran", "del", "o",
                                     "bri", "nak", "es",  "tor", "li", "qua", "zen", "ph",  "ur"};
  const auto name = [&] {
    std::string n;
    for (int k = 2 + static_cast<int>(rng() % 3); k > 0; --k) n += pick(kSyllables);
    n[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(n[0])));
    return n;
  };
  std::vector<std::string> out;
  out.reserve(sentences);
  for (int i = 0; i < sentences; ++i) {
    std::string s = pick(kSubjects) + " " + pick(kVerbs) + " " + pick(kObjects) + " " + pick(kTails);
    if (rng() % 4 == 0) s = pick(kMarkup) + s + pick(kMarkup);
    if (rng() % 8 == 0) s += " " + std::to_string(rng() % 100000);
    if (rng() % 2 == 0) s = name() + " of " + name() + ": " + s;
    out.push_back(std::move(s) + "\n");
  }
  return out;
}

}  // namespace prlm::text
