// A generation task over per-user preference pairs, so that GRPO can be run
// with a personalization reward keyed by the user (reward.personalization=lore
// or bt) and its answers judged under each user's true utility
// (docs/lore.md, "GRPO with LoRe").
//
// Each user with train pairs becomes a user of a LongLaMP topic-writing data
// set ("Write the post this user would write for the request below"):
//   profile   their first `profile_pairs` train pairs, as posts
//             {summary: prompt, content: chosen}: what they preferred before;
//   train     their other train pairs: input = prompt, output = chosen;
//   test      their test pairs (prompts no train pair uses), the same way.
// Users with only fewshot pairs (unseen users) are left out: a LoRe table has
// no row for them until they are adapted.
//
// The reward-model pairs are every train pair as (query = prompt, chosen,
// rejected): what `train-rm` needs to make the shared BT reward model on the
// same data LoRe trains on.
//
// Errors: a user with no more than `profile_pairs` train pairs (nothing left
// to ask) or a set with no such user throws util::Error naming the user.
// Thread-safety: plain functions.
#pragma once

#include <vector>

#include "common/data/dataset.h"
#include "common/data/preference_file.h"
#include "pipeline/rm_pairs.h"

namespace prlm::pipeline {

struct PreferenceTaskOptions {
  int profile_pairs = 12;  // train pairs per user shown as the profile
};

struct PreferenceTask {
  data::Dataset train, test;
  std::vector<pipeline::RmPair> rm_pairs;
};

PreferenceTask MakePreferenceTask(const data::PreferenceSet& set, const PreferenceTaskOptions& options);

}  // namespace prlm::pipeline
