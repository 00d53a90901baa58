#include "common/text/wordnet.h"

#include <cstdlib>
#include <mutex>
#include <sstream>

#include "common/text/unicode.h"
#include "common/util/check.h"
#include "common/util/file.h"

#include <algorithm>
#include <filesystem>
#include <memory>

namespace prlm::text {
namespace {

constexpr const char* kPosFile[] = {"noun", "verb", "adj", "adv"};

// NLTK's MORPHOLOGICAL_SUBSTITUTIONS, per part of speech.
const std::vector<std::pair<std::string, std::string>>& Substitutions(int pos) {
  static const std::vector<std::pair<std::string, std::string>> kRules[] = {
      {{"s", ""},
       {"ses", "s"},
       {"ves", "f"},
       {"xes", "x"},
       {"zes", "z"},
       {"ches", "ch"},
       {"shes", "sh"},
       {"men", "man"},
       {"ies", "y"}},
      {{"s", ""}, {"ies", "y"}, {"es", "e"}, {"es", ""}, {"ed", "e"}, {"ed", ""}, {"ing", "e"}, {"ing", ""}},
      {{"er", ""}, {"est", ""}, {"er", "e"}, {"est", "e"}},
      {}};
  return kRules[pos];
}

std::string ReadDatabaseFile(const std::string& dir, const std::string& name) {
  const std::string path = dir + "/" + name;
  if (!std::filesystem::exists(path))
    PRLM_THROW("WordNet: " << path << " is missing; METEOR needs the WordNet 3.0 database "
                           << "(Debian: apt-get install wordnet-base; or set PRLM_WORDNET_DIR)");
  return util::ReadFile(path);
}

}  // namespace

WordNet::WordNet(const std::string& dir) : dir_(dir) {
  for (int pos = 0; pos < kPosCount; ++pos) {
    // index.POS: "lemma pos n_synsets n_pointers [ptr...] n_senses tagsense_cnt offset..."
    const std::string index_name = std::string("index.") + kPosFile[pos];
    std::istringstream index(ReadDatabaseFile(dir, index_name));
    std::string line;
    for (size_t line_no = 1; std::getline(index, line); ++line_no) {
      if (line.empty() || line[0] == ' ') continue;  // the licence header
      std::istringstream fields(line);
      std::string lemma, pos_tag;
      int n_synsets = 0, n_pointers = 0, n_senses = 0, tagged = 0;
      fields >> lemma >> pos_tag >> n_synsets >> n_pointers;
      for (int i = 0; i < n_pointers; ++i) fields >> pos_tag;
      fields >> n_senses >> tagged;
      std::vector<uint32_t> offsets(static_cast<size_t>(std::max(n_synsets, 0)));
      for (auto& o : offsets) fields >> o;
      if (!fields || n_synsets <= 0 || n_synsets != n_senses)
        PRLM_THROW("WordNet: " << dir << "/" << index_name << " line " << line_no << " is malformed");
      index_[lemma][pos] = std::move(offsets);
    }
    // POS.exc: "inflected base..."
    const std::string exc_name = std::string(kPosFile[pos]) + ".exc";
    std::istringstream exc(ReadDatabaseFile(dir, exc_name));
    while (std::getline(exc, line)) {
      std::istringstream fields(line);
      std::string form, base;
      if (!(fields >> form)) continue;
      auto& bases = exceptions_[pos][form];
      while (fields >> base) bases.push_back(base);
    }
    data_[pos] = ReadDatabaseFile(dir, std::string("data.") + kPosFile[pos]);
  }
}

std::string WordNet::DefaultDir() {
  const char* env = std::getenv("PRLM_WORDNET_DIR");
  return env && *env ? env : "/usr/share/wordnet";
}

const WordNet& WordNet::Default() {
  static std::once_flag once;
  static std::unique_ptr<WordNet> db;
  std::call_once(once, [] { db = std::make_unique<WordNet>(DefaultDir()); });
  return *db;
}

bool WordNet::InIndex(const std::string& form, int pos) const {
  auto it = index_.find(form);
  return it != index_.end() && !it->second[pos].empty();
}

std::vector<std::string> WordNet::BaseForms(const std::string& form, int pos) const {
  auto keep_indexed = [&](const std::vector<std::string>& forms) {
    std::vector<std::string> kept;
    for (const auto& f : forms)
      if (InIndex(f, pos) && std::find(kept.begin(), kept.end(), f) == kept.end()) kept.push_back(f);
    return kept;
  };
  auto apply_rules = [&](const std::vector<std::string>& forms) {
    std::vector<std::string> out;
    for (const auto& f : forms)
      for (const auto& [old_suffix, new_suffix] : Substitutions(pos))
        if (f.size() >= old_suffix.size() &&
            f.compare(f.size() - old_suffix.size(), old_suffix.size(), old_suffix) == 0)
          out.push_back(f.substr(0, f.size() - old_suffix.size()) + new_suffix);
    return out;
  };
  if (auto it = exceptions_[pos].find(form); it != exceptions_[pos].end()) {
    std::vector<std::string> forms = {form};
    forms.insert(forms.end(), it->second.begin(), it->second.end());
    return keep_indexed(forms);
  }
  std::vector<std::string> forms = apply_rules({form});
  std::vector<std::string> with_form = {form};
  with_form.insert(with_form.end(), forms.begin(), forms.end());
  if (auto found = keep_indexed(with_form); !found.empty()) return found;
  // Suffix rules only shorten or keep the length, so this ends.
  while (!forms.empty()) {
    forms = apply_rules(forms);
    if (auto found = keep_indexed(forms); !found.empty()) return found;
  }
  return {};
}

void WordNet::AddSynsetNames(int pos, uint32_t offset, std::unordered_set<std::string>& names) const {
  // data.POS at byte `offset`: "offset lex_filenum ss_type w_cnt(hex) word lex_id(hex) ..."
  const std::string& data = data_[pos];
  PRLM_REQUIRE(offset < data.size(),
               "WordNet: synset offset " << offset << " is past the end of " << dir_ << "/data." << kPosFile[pos]);
  const size_t end = data.find('\n', offset);
  std::istringstream fields(data.substr(offset, end - offset));
  std::string synset_offset, lex_filenum, ss_type, count_hex, word, lex_id;
  fields >> synset_offset >> lex_filenum >> ss_type >> count_hex;
  const long count = std::strtol(count_hex.c_str(), nullptr, 16);
  for (long i = 0; i < count && (fields >> word >> lex_id); ++i) {
    if (const size_t paren = word.find('('); paren != std::string::npos && word.back() == ')')
      word.resize(paren);  // adjective position marker: "(a)", "(p)", "(ip)"
    if (word.find('_') == std::string::npos) names.insert(word);
  }
}

std::unordered_set<std::string> WordNet::Synonyms(std::string_view word_in) const {
  const std::string word = Lowercase(word_in);
  std::unordered_set<std::string> names;
  for (int pos = 0; pos < kPosCount; ++pos)
    for (const auto& form : BaseForms(word, pos))
      for (uint32_t offset : index_.at(form)[pos]) AddSynsetNames(pos, offset, names);
  names.insert(std::string(word_in));
  return names;
}

}  // namespace prlm::text
