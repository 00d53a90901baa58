#include "common/data/preference_file.h"

#include <nlohmann/json.hpp>

#include <set>
#include <tuple>

#include "common/util/check.h"
#include "common/util/file.h"
#include "common/util/json_lines.h"

namespace prlm::data {

const char* SplitName(PreferenceSplit split) {
  switch (split) {
    case PreferenceSplit::kTrain:
      return "train";
    case PreferenceSplit::kTest:
      return "test";
    case PreferenceSplit::kFewshot:
      return "fewshot";
  }
  return "?";
}

std::map<std::string, std::vector<const PreferencePair*>> PreferenceSet::ByUser(PreferenceSplit split) const {
  std::map<std::string, std::vector<const PreferencePair*>> out;
  for (const auto& p : pairs)
    if (p.split == split) out[p.user_id].push_back(&p);
  return out;
}

PreferenceSet ReadPreferenceFile(const std::string& path) {
  PreferenceSet set;
  set.source = path;
  std::set<std::tuple<std::string, std::string, std::string, std::string, int>> seen;
  util::ForEachJsonLine(path, [&](const nlohmann::json& j, const std::string& where, size_t) {
    PreferencePair p;
    p.user_id = util::JsonLineString(j, where, "user_id", true);
    p.prompt = util::JsonLineString(j, where, "prompt", true);
    p.chosen = util::JsonLineString(j, where, "chosen", true);
    p.rejected = util::JsonLineString(j, where, "rejected", true);
    const std::pair<const char*, const std::string*> fields[] = {
        {"user_id", &p.user_id}, {"prompt", &p.prompt}, {"chosen", &p.chosen}, {"rejected", &p.rejected}};
    for (const auto& [name, value] : fields) PRLM_REQUIRE(!value->empty(), where << ": \"" << name << "\" is empty");
    PRLM_REQUIRE(p.chosen != p.rejected, where << ": \"chosen\" and \"rejected\" are the same text");
    const std::string split = util::JsonLineString(j, where, "split", false);
    if (split == "test")
      p.split = PreferenceSplit::kTest;
    else if (split == "fewshot")
      p.split = PreferenceSplit::kFewshot;
    else
      PRLM_REQUIRE(split.empty() || split == "train",
                   where << ": \"split\" is '" << split << "'; expected train, test or fewshot");
    if (!seen.emplace(p.user_id, p.prompt, p.chosen, p.rejected, static_cast<int>(p.split)).second) {
      ++set.duplicates;
      return;
    }
    set.pairs.push_back(std::move(p));
  });
  PRLM_REQUIRE(!set.pairs.empty(), path << ": no preference pairs");
  return set;
}

void WritePreferenceFile(const std::string& path, const std::vector<PreferencePair>& pairs) {
  std::string lines;
  for (const auto& p : pairs)
    lines += nlohmann::ordered_json{{"user_id", p.user_id},
                                    {"prompt", p.prompt},
                                    {"chosen", p.chosen},
                                    {"rejected", p.rejected},
                                    {"split", SplitName(p.split)}}
                 .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
             "\n";
  util::WriteFileAtomic(path, lines);
}

}  // namespace prlm::data
