// Per-user preference pairs (LoRe, docs/lore.md): JSON lines, one pair each,
//
//   {"user_id": "p0003", "prompt": "...", "chosen": "...", "rejected": "...",
//    "split": "train"}
//
// `split` is optional: train (fits the shared basis and seen users' weights),
// test (held-out pairs of any user), or fewshot (an unseen user's adaptation
// pairs); absent means train.
//
// Errors (util::Error naming file:line and the field): a line that is not an
// object, a missing or empty user_id / prompt / chosen / rejected, chosen
// equal to rejected, an unknown split. A pair repeated for the same user and
// split is kept once and counted (PreferenceSet::duplicates).
// Thread-safety: plain functions.
#pragma once

#include <cstddef>
#include <map>
#include <string>
#include <vector>

namespace prlm::data {

enum class PreferenceSplit { kTrain, kTest, kFewshot };
const char* SplitName(PreferenceSplit split);

struct PreferencePair {
  std::string user_id, prompt, chosen, rejected;
  PreferenceSplit split = PreferenceSplit::kTrain;
};

struct PreferenceSet {
  std::string source;  // the file read
  std::vector<PreferencePair> pairs;
  size_t duplicates = 0;  // repeated pairs dropped

  // The pairs of `split` (all users), grouped by user, users in name order.
  std::map<std::string, std::vector<const PreferencePair*>> ByUser(PreferenceSplit split) const;
};

PreferenceSet ReadPreferenceFile(const std::string& path);
void WritePreferenceFile(const std::string& path, const std::vector<PreferencePair>& pairs);  // atomic

}  // namespace prlm::data
