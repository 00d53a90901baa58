// make-synthetic as one step: the synthetic splits (synthetic.h) or the
// preference users (synthetic_preferences.h) written to a directory with
// whatever extra files were asked for, and the figures that say what the
// data allows printed to stdout.
// Thread-safety: plain functions.
#pragma once

#include <string>

#include "pipeline/synthetic.h"
#include "pipeline/synthetic_preferences.h"

namespace prlm::pipeline {

// Files beyond the splits, each written when its path is not empty.
struct SyntheticExtras {
  std::string rm_pairs;           // oracle reward-model pairs of the train split (JSON lines)
  std::string reference_answers;  // DIR/blind.json and DIR/profile.json: the test split's reference answers
  std::string corpus;             // every text of the train split, one per line (for train-tokenizer)
};

// 1. the splits to `out`; 2. the extras; 3. the test split's metrics of a
// profile-blind answer and of the habit read off profiles; with
// options.topic_style 4. a one-item reader's metrics by retriever.
void WriteSyntheticDataSet(const SyntheticOptions& options, const std::string& out, const SyntheticExtras& extras);

// A generation task over the seen preference users (preference_task.h),
// written when task_out is not empty.
struct PreferenceTaskOut {
  std::string dir;
  int profile_pairs = 12;
};

// 1. pairs.jsonl and truth.json to `out`, with the test pairs' Bayes
// accuracy; 2. the generation task and its reward-model pairs to task.dir.
void WriteSyntheticPreferenceSet(const SyntheticPreferenceOptions& options, const std::string& out,
                                 const PreferenceTaskOut& task);

}  // namespace prlm::pipeline
