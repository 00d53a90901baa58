// Synthetic LaMP- and LongLaMP-format data in which every user has a
// consistent, learnable personal habit (docs/synthetic_data.md tells each
// generative story), for every task prlm knows.
//
// Generation tasks (LaMP-4 to 7, LongLaMP's three): each user has a style: a
// casing, a habitual prefix and suffix, one preferred word in each synonym
// group, and a preferred length. The user's profile items and their gold
// outputs are written in that style; the inputs (articles, abstracts, emails,
// requests, neutral tweets) are not. So a model that reads the retrieved
// profile can recover the style and score higher than one that cannot;
// InferStyle + RenderOutput show by how much (SyntheticReport). LongLaMP's
// outputs run 50-200 words.
//
// Classification and rating tasks (LaMP-1, 2, 2N, 3): synthetic_labels.h.
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
#include "common/data/task_metrics.h"
#include "common/util/rng.h"

namespace prlm::pipeline {

struct SyntheticOptions {
  std::string task = "LaMP_4";  // any task (TaskByName's spellings)
  int users = 100;
  uint64_t seed = 1;
  int min_profile = 16, max_profile = 32;  // items per user
  int questions_per_user = 2;
  // Held-out users, the last of the draw (dev, then test); 0 means a tenth
  // of `users` (at least 1). Users are drawn one after another from one
  // stream, so more test users leave the train and dev users unchanged.
  int dev_users = 0, test_users = 0;
  // Retrieval matters (ROPG's data): each favourite topic has its own prefix
  // and suffix, so only same-topic profile items reveal them, and each
  // question's profile gets `distractors` items on the user's other topics
  // that repeat the question's content words (a lexical trap for BM25).
  // Text tasks with an input field (not LaMP-7).
  bool topic_style = false;
  int distractors = 1;
};

struct UserStyle {
  int casing = 0;              // 0 as written, 1 lower, 2 Title Case, 3 UPPER
  int prefix = 0, suffix = 0;  // index into the task's lists (0 = none)
  std::vector<int> synonyms;   // preferred variant per synonym group
  bool long_form = false;      // adds the optional detail phrase
  // topic_style: the prefix and suffix per topic (index = topic; 0 = none),
  // used instead of `prefix` and `suffix`. Empty otherwise.
  std::vector<int> topic_prefix, topic_suffix;
};

// The hidden facts behind one output: which words fill the template.
struct SyntheticFact {
  int topic = 0;
  std::vector<int> slots;  // chosen word per template slot
};

struct SyntheticSplits {
  data::Dataset train, dev, test;
  // The fact behind each example, parallel to that split's examples.
  std::vector<SyntheticFact> train_facts, dev_facts, test_facts;
  std::vector<std::string> user_ids;  // all users, in generation order
  std::vector<UserStyle> styles;      // parallel to user_ids (generation tasks)
  std::vector<std::string> truths;    // parallel to user_ids (label tasks): the habit, as JSON
};

SyntheticSplits MakeSynthetic(const SyntheticOptions& options);

// Building blocks shared by the generators: the three empty splits, a user's
// id, the split user `u` falls in (train first, then dev, then test), and
// profile dates (oldest first, a few days apart: construct once per user,
// Stamp each item in order; each draws from `rng`).
SyntheticSplits EmptySyntheticSplits(const data::TaskSpec& task, const SyntheticOptions& options);
std::string SyntheticUserId(int u);
data::Dataset& SyntheticSplitOf(SyntheticSplits& splits, int u, const SyntheticOptions& options);
std::vector<SyntheticFact>& SyntheticFactsOf(SyntheticSplits& splits, int u, const SyntheticOptions& options);
class SyntheticDates {
 public:
  explicit SyntheticDates(util::SplitMix64& rng);
  void Stamp(data::ProfileItem& item);

 private:
  util::SplitMix64& rng_;
  int day_;
};

// Writes {train,dev,test}_{questions,outputs}.json and styles.json to `dir`.
void WriteLampSplit(const data::Dataset& dataset, const std::string& dir, const std::string& split);
void WriteSynthetic(const SyntheticSplits& splits, const SyntheticOptions& options, const std::string& dir);

// Reads a user's style off their profile (what a profile-reading model must
// learn to do). Exposed so tests and `make-synthetic` can measure the gap.
UserStyle InferStyle(const std::string& task, const std::vector<data::ProfileItem>& profile);
// The output of `fact` in `style`; with the neutral style it is what a
// profile-blind model could best write from the input alone.
std::string RenderOutput(const std::string& task, const SyntheticFact& fact, const UserStyle& style);
UserStyle NeutralStyle(const std::string& task);

// The answer a profile-blind reader gives to example i (the neutral style, the
// input tweet itself for LaMP-7, BlindLabel for label tasks), and the one a
// profile-reading reader gives (the style InferStyle reads, from the items on
// the question's topic when the data has topic styles; ProfileLabel).
// `facts` may be empty for label tasks.
std::string BlindAnswer(const data::Dataset& dataset, const std::vector<SyntheticFact>& facts, size_t i);
std::string ProfileAnswer(const data::Dataset& dataset, const std::vector<SyntheticFact>& facts, size_t i);
// The answer of a reader shown only `items` (a retriever's top-k): the style
// InferStyle reads off them, applied to example i's fact. Text tasks only.
std::string ItemsAnswer(const data::Dataset& dataset, const std::vector<SyntheticFact>& facts, size_t i,
                        const std::vector<data::ProfileItem>& items);
// The topic whose slot words `text` mentions most (-1: none): an item's topic
// read off its output field.
int TopicOfText(const std::string& task, const std::string& text);

// The task's own metrics (data::TaskMetrics) of the gold outputs against the
// blind and the profile-reading answers: the gap a profile-reading model can
// close.
struct SyntheticReport {
  data::MetricValues blind, profile;
  double recovered = 0;  // fraction of examples the profile-reading answer gets exactly
};
SyntheticReport MeasureSynthetic(const data::Dataset& dataset, const std::vector<SyntheticFact>& facts);

// Every text of `split` (inputs, outputs, profile fields), one per line, a
// text's own line breaks turned into spaces: a corpus for train-tokenizer.
std::string TextCorpus(const data::Dataset& split);

}  // namespace prlm::pipeline
