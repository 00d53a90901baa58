#include "pipeline/synthetic_data_set.h"

#include <cstdio>
#include <filesystem>

#include "common/util/file.h"
#include "pipeline/eval_rows.h"
#include "pipeline/preference_task.h"
#include "pipeline/retrieval_top1.h"
#include "pipeline/rm_pairs.h"
#include "retrieval_shards/local_retriever.h"

namespace prlm::pipeline {

namespace {

// "rouge1 0.512, rougeL 0.498"
std::string Figures(const data::MetricValues& values) {
  std::string out;
  char buf[64];
  for (const auto& [name, value] : values) {
    std::snprintf(buf, sizeof buf, "%s %.3f", name.c_str(), value);
    out += (out.empty() ? "" : ", ") + std::string(buf);
  }
  return out;
}

}  // namespace

void WriteSyntheticDataSet(const SyntheticOptions& o, const std::string& out, const SyntheticExtras& extras) {
  // 1. The splits.
  const SyntheticSplits s = MakeSynthetic(o);
  WriteSynthetic(s, o, out);
  std::printf("wrote %s: train %zu, dev %zu, test %zu examples (%d users)\n", out.c_str(), s.train.examples.size(),
              s.dev.examples.size(), s.test.examples.size(), o.users);
  // 2. The extras.
  if (!extras.rm_pairs.empty()) {
    const auto pairs = SyntheticRmPairs(s);
    WriteRmPairs(extras.rm_pairs, pairs);
    std::printf("wrote %s: %zu oracle reward-model pairs\n", extras.rm_pairs.c_str(), pairs.size());
  }
  if (!extras.reference_answers.empty()) {
    const std::string& dir = extras.reference_answers;
    std::filesystem::create_directories(dir);
    std::vector<std::string> blind, profile;
    for (size_t i = 0; i < s.test.examples.size(); ++i) {
      blind.push_back(BlindAnswer(s.test, s.test_facts, i));
      profile.push_back(ProfileAnswer(s.test, s.test_facts, i));
    }
    WritePredictions(dir + "/blind.json", s.test, blind);
    WritePredictions(dir + "/profile.json", s.test, profile);
    std::printf("wrote %s/blind.json and profile.json: the test split's reference answers\n", dir.c_str());
  }
  if (!extras.corpus.empty()) {
    const std::string corpus = TextCorpus(s.train);
    util::WriteFileAtomic(extras.corpus, corpus);
    std::printf("wrote %s: a tokenizer corpus of %zu bytes\n", extras.corpus.c_str(), corpus.size());
  }
  // 3. What the data allows.
  const auto r = MeasureSynthetic(s.test, s.test_facts);
  std::printf(
      "test split, the task's metrics against the gold outputs of\n"
      "  a profile-blind answer:       %s\n"
      "  the habit read off profiles:  %s (exactly right for %.0f%%)\n",
      Figures(r.blind).c_str(), Figures(r.profile).c_str(), 100 * r.recovered);
  if (!o.topic_style) return;
  // 4. Which item is shown matters: a reader shown one item, by retriever.
  retrieval_shards::IndexOptions index;
  index.built = {"bm25"};
  auto retriever = retrieval_shards::LocalRetriever::Build({&s.test}, index);
  const int candidates = 20;
  std::printf("  a reader shown one item (test split; oracle: the best of bm25's top %d):\n", candidates);
  for (const auto& row :
       MeasureTop1Retrieval(s.test, s.test_facts, *retriever, {"bm25", "recency", "random"}, "bm25", candidates))
    std::printf("    %-8s top-1: %s\n", row.name.c_str(), Figures(row.metrics).c_str());
}

void WriteSyntheticPreferenceSet(const SyntheticPreferenceOptions& p, const std::string& out,
                                 const PreferenceTaskOut& task_out) {
  // 1. The users' pairs and their true mixtures.
  const auto data = MakeSyntheticPreferences(p);
  WriteSyntheticPreferences(data, p, out);
  std::printf(
      "wrote %s/pairs.jsonl: %zu pairs of %d seen and %d unseen users; truth in %s/truth.json\n"
      "Bayes accuracy of the test pairs: seen users %.3f, unseen users %.3f\n",
      out.c_str(), data.pairs.size(), p.seen_users, p.unseen_users, out.c_str(), data.bayes_seen, data.bayes_unseen);
  if (task_out.dir.empty()) return;
  // 2. A generation task over the seen users.
  data::PreferenceSet set;
  set.source = out + "/pairs.jsonl";
  set.pairs = data.pairs;
  PreferenceTaskOptions t;
  t.profile_pairs = task_out.profile_pairs;
  const auto task = MakePreferenceTask(set, t);
  WriteLampSplit(task.train, task_out.dir, "train");
  WriteLampSplit(task.test, task_out.dir, "test");
  WriteRmPairs(task_out.dir + "/rm_pairs.jsonl", task.rm_pairs);
  std::printf("wrote %s: train %zu, test %zu questions of %d users (%s); %zu reward-model pairs\n",
              task_out.dir.c_str(), task.train.examples.size(), task.test.examples.size(), p.seen_users,
              task.train.task->name.c_str(), task.rm_pairs.size());
}

}  // namespace prlm::pipeline
