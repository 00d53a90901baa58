#include "pipeline/preference_task.h"

#include "common/data/task.h"
#include "common/util/check.h"

namespace prlm::pipeline {

namespace {

data::Example Question(const data::TaskSpec& task, const data::PreferencePair& pair, const std::string& id,
                       const std::vector<data::ProfileItem>& profile) {
  data::Example ex;
  ex.id = id;
  ex.user_id = pair.user_id;
  ex.input = pair.prompt;
  ex.query = data::ExtractQuery(task, ex.input);
  ex.output = pair.chosen;
  ex.profile = profile;
  return ex;
}

}  // namespace

PreferenceTask MakePreferenceTask(const data::PreferenceSet& set, const PreferenceTaskOptions& o) {
  PRLM_REQUIRE(o.profile_pairs >= 1, "preference task: profile_pairs must be >= 1, got " << o.profile_pairs);
  const data::TaskSpec& task = data::TaskByName("LongLaMP_topic_writing");
  PreferenceTask out;
  out.train.task = out.test.task = &task;
  out.train.source = out.test.source = set.source;
  const auto test_pairs = set.ByUser(data::PreferenceSplit::kTest);
  for (const auto& [user, pairs] : set.ByUser(data::PreferenceSplit::kTrain)) {
    PRLM_REQUIRE(pairs.size() > static_cast<size_t>(o.profile_pairs),
                 "preference task: user " << user << " has " << pairs.size() << " train pairs in " << set.source
                                          << "; needs more than the " << o.profile_pairs << " shown as the profile");
    std::vector<data::ProfileItem> profile;
    for (int i = 0; i < o.profile_pairs; ++i) {
      data::ProfileItem item;
      item.id = user + "-p" + std::to_string(i);
      item.fields = {{"summary", pairs[static_cast<size_t>(i)]->prompt},
                     {"content", pairs[static_cast<size_t>(i)]->chosen}};
      profile.push_back(std::move(item));
    }
    for (size_t i = static_cast<size_t>(o.profile_pairs); i < pairs.size(); ++i)
      out.train.examples.push_back(Question(task, *pairs[i], user + "-train-" + std::to_string(i), profile));
    if (const auto it = test_pairs.find(user); it != test_pairs.end())
      for (size_t i = 0; i < it->second.size(); ++i)
        out.test.examples.push_back(Question(task, *it->second[i], user + "-test-" + std::to_string(i), profile));
    for (const auto* p : pairs)
      out.rm_pairs.push_back(
          {user + "-rm-" + std::to_string(out.rm_pairs.size()), user, p->prompt, p->chosen, p->rejected});
  }
  PRLM_REQUIRE(!out.train.examples.empty(), "preference task: " << set.source << " has no user with train pairs");
  return out;
}

}  // namespace prlm::pipeline
