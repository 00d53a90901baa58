// WordNet 3.0 read from its database files (Debian's `wordnet-base` installs
// them in /usr/share/wordnet), for METEOR's synonym matching.
//
// Synonyms(word) is what NLTK's METEOR collects for a word: the names of every
// lemma of every synset `wordnet.synsets(word)` returns -- the word lower-cased,
// each part of speech (noun, verb, adjective, adverb) in turn, its base forms
// found by NLTK's morphy (the exception lists, else its suffix rules applied
// repeatedly until a form is in the index) -- less names containing '_', plus
// the word itself. Names keep WordNet's case ("Paris"); adjective markers such
// as "(a)" are removed.
//
// Loading reads the index and exception files (about 6 MB parsed) and keeps the
// data files in memory; synsets are parsed when asked for.
// Thread-safety: immutable after construction; Synonyms is safe from any thread.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace prlm::text {

class WordNet {
 public:
  // Throws util::Error naming the directory and the file that is missing or
  // malformed (with its line), and how to install the database.
  explicit WordNet(const std::string& dir);

  // The database at $PRLM_WORDNET_DIR, else /usr/share/wordnet; loaded on
  // first use and shared. Throws as the constructor does.
  static const WordNet& Default();
  static std::string DefaultDir();

  std::unordered_set<std::string> Synonyms(std::string_view word) const;

  // NLTK's morphy for one part of speech (0 noun, 1 verb, 2 adjective, 3 adverb):
  // the base forms of `form` that the index has. Exposed for tests.
  std::vector<std::string> BaseForms(const std::string& form, int pos) const;

 private:
  static constexpr int kPosCount = 4;
  using Offsets = std::array<std::vector<uint32_t>, kPosCount>;
  bool InIndex(const std::string& form, int pos) const;
  void AddSynsetNames(int pos, uint32_t offset, std::unordered_set<std::string>& names) const;

  std::string dir_;
  std::unordered_map<std::string, Offsets> index_;
  std::array<std::unordered_map<std::string, std::vector<std::string>>, kPosCount> exceptions_;
  std::array<std::string, kPosCount> data_;
};

}  // namespace prlm::text
