// Synthetic LaMP-format data in which every user writes in a consistent,
// learnable personal style (docs/synthetic_data.md tells the generative story).
//
// Each user has a style: a casing, a habitual prefix and suffix, one preferred
// word in each synonym group, and a preferred length. The user's profile items
// and their gold outputs are written in that style; the inputs (articles,
// abstracts, neutral tweets) are not. So a model that reads the retrieved
// profile can recover the style and score higher than one that cannot;
// InferStyle + RenderOutput show by how much (SyntheticReport).
//
// Splits are user-based: train, dev and test hold disjoint users, so dev and
// test users are held out. All three splits come with outputs.
//
// Deterministic for a given (task, users, seed, sizes). Thread-safe: pure.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/data/dataset.h"

namespace prlm::data {

struct SyntheticOptions {
  std::string task = "LaMP_4";     // LaMP_4, LaMP_5 or LaMP_7
  int users = 100;
  uint64_t seed = 1;
  int min_profile = 16, max_profile = 32;  // items per user
  int questions_per_user = 2;
  double dev_fraction = 0.1, test_fraction = 0.1;
};

struct UserStyle {
  int casing = 0;                // 0 as written, 1 lower, 2 Title Case, 3 UPPER
  int prefix = 0, suffix = 0;    // index into the task's lists (0 = none)
  std::vector<int> synonyms;     // preferred variant per synonym group
  bool long_form = false;        // adds the optional detail phrase
};

// The hidden facts behind one output: which words fill the template.
struct SyntheticFact {
  int topic = 0;
  std::vector<int> slots;  // chosen word per template slot
};

struct SyntheticSplits {
  Dataset train, dev, test;
  // The fact behind each example, parallel to that split's examples.
  std::vector<SyntheticFact> train_facts, dev_facts, test_facts;
  std::vector<std::string> user_ids;  // all users, in generation order
  std::vector<UserStyle> styles;      // parallel to user_ids
};

SyntheticSplits MakeSynthetic(const SyntheticOptions& options);

// Writes {train,dev,test}_{questions,outputs}.json and styles.json to `dir`.
void WriteLampSplit(const Dataset& dataset, const std::string& dir, const std::string& split);
void WriteSynthetic(const SyntheticSplits& splits, const SyntheticOptions& options,
                    const std::string& dir);

// Reads a user's style off their profile (what a profile-reading model must
// learn to do). Exposed so tests and `make-synthetic` can measure the gap.
UserStyle InferStyle(const std::string& task, const std::vector<ProfileItem>& profile);
// The output of `fact` in `style`; with the neutral style it is what a
// profile-blind model could best write from the input alone.
std::string RenderOutput(const std::string& task, const SyntheticFact& fact, const UserStyle& style);
UserStyle NeutralStyle(const std::string& task);

// Mean ROUGE-1/L F of gold vs (neutral style) and vs (style inferred from
// profile) over a dataset: the gap a profile-reading model can close.
struct SyntheticReport {
  double blind_rouge1 = 0, blind_rougeL = 0, profile_rouge1 = 0, profile_rougeL = 0;
  double style_recovered = 0;  // fraction of examples whose style InferStyle recovers exactly
};
SyntheticReport MeasureSynthetic(const Dataset& dataset, const std::vector<SyntheticFact>& facts);

// Every text of `split` (inputs, outputs, profile fields), one per line, a
// text's own line breaks turned into spaces: a corpus for train-tokenizer.
std::string TextCorpus(const Dataset& split);

}  // namespace prlm::data
