// prlm check-data / prlm make-synthetic / prlm make-reasoning.
#include <cstdio>

#include "cli/commands.h"
#include "common/data/dataset.h"
#include "common/util/check.h"
#include "options/args.h"
#include "options/compute_options.h"
#include "options/policy_options.h"
#include "options/retriever_options.h"
#include "pipeline/check_data.h"
#include "pipeline/reasoning_paths.h"
#include "pipeline/synthetic_data_set.h"
#include "pipeline/teacher_reasoning.h"

namespace prlm::cli {
int RunCheckData(int argc, char** argv) {
  options::Args args("check-data",
                     "Validate a LaMP or LongLaMP data set and print its statistics. DATA is a LaMP\n"
                     "directory ({split}_questions.json [+ {split}_outputs.json] for each split found),\n"
                     "a LaMP questions file, or a LongLaMP file (JSON array or JSON lines).");
  args.Option("data", "PATH", "", "directory or file", true)
      .Option("task", "NAME", "", "task (needed when no outputs file names it; e.g. LaMP_4, product_review)")
      .Option("outputs", "FILE", "", "LaMP outputs file for a questions file given as --data");
  if (!args.Parse(argc, argv)) return 0;
  pipeline::CheckData(args.Get("data"), data::TaskOrNull(args.Get("task")), args.Get("outputs"), stdout);
  std::printf("ok\n");
  return 0;
}

int RunMakeSynthetic(int argc, char** argv) {
  options::Args args("make-synthetic",
                     "Write LaMP- or LongLaMP-format train/dev/test splits in which every user has a\n"
                     "consistent personal habit (docs/synthetic_data.md). Dev and test users are held out.");
  pipeline::SyntheticOptions o;
  pipeline::SyntheticPreferenceOptions p;
  pipeline::SyntheticExtras extras;
  pipeline::PreferenceTaskOut task_out;
  bool preferences = false;
  args.Bind("task", "NAME", &o.task,
            "any task: lamp1 to lamp7, lamp2n, product_review,\nabstract_generation, topic_writing")
      .Bind("users", "N", &o.users, "number of users over all splits")
      .Bind("seed", "S", &o.seed, "random seed")
      .Bind("min-profile", "N", &o.min_profile, "fewest profile items per user")
      .Bind("max-profile", "N", &o.max_profile, "most profile items per user")
      .Bind("questions-per-user", "N", &o.questions_per_user, "questions per user")
      .Bind("dev-users", "N", &o.dev_users, "held-out dev users (0: a tenth of --users)")
      .Bind("test-users", "N", &o.test_users,
            "held-out test users, the draw's last (0: a tenth of --users); users are\n"
            "drawn in order, so raising --users and --test-users together keeps the\n"
            "train and dev users and adds test users")
      .Bind("rm-pairs", "FILE", &extras.rm_pairs,
            "also write oracle reward-model pairs of the train split (JSON lines:\n"
            "the user's gold output chosen over the profile-blind one)")
      .Bind("reference-answers", "DIR", &extras.reference_answers,
            "also write the test split's reference answers in LaMP's predictions format, for prlm eval\n"
            "--answers: DIR/blind.json (the profile-blind answer) and DIR/profile.json (the habit read off\n"
            "the profile)")
      .Bind("corpus", "FILE", &extras.corpus,
            "also write every text of the train split (inputs, outputs, profile\n"
            "fields), one per line: a corpus for train-tokenizer")
      .Option("out", "DIR", "", "output directory", true)
      .Bind("preferences", &preferences,
            "write per-user preference pairs for LoRe instead (pairs.jsonl, truth.json);\n"
            "--users then counts the seen users")
      .Bind("unseen-users", "N", &p.unseen_users, "--preferences: users held out (few-shot pairs + test pairs)")
      .Bind("train-pairs", "N", &p.train_pairs, "--preferences: train pairs per seen user")
      .Bind("test-pairs", "N", &p.test_pairs, "--preferences: test pairs per user (prompts no train pair uses)")
      .Bind("fewshot-pairs", "N", &p.fewshot_pairs, "--preferences: adaptation pairs per unseen user")
      .Bind("task-out", "DIR", &task_out.dir,
            "--preferences: also write a generation task over the seen users\n"
            "(LongLaMP topic writing: train and test splits, profile = their first\n"
            "--profile-pairs chosen answers) and DIR/rm_pairs.jsonl for train-rm")
      .Bind("profile-pairs", "N", &task_out.profile_pairs, "--task-out: train pairs per user shown as the profile")
      .Bind("topic-style", &o.topic_style,
            "retrieval matters (ROPG): each favourite topic has its own prefix and suffix,\n"
            "and every question's profile gets --distractors items on other topics that\n"
            "repeat its content words; prints top-1 figures of bm25, recency, random and\n"
            "the oracle")
      .Bind("distractors", "N", &o.distractors, "--topic-style: lexical distractors per question");
  if (!args.Parse(argc, argv)) return 0;
  if (preferences) {
    p.seen_users = o.users;
    p.seed = o.seed;
    pipeline::WriteSyntheticPreferenceSet(p, args.Get("out"), task_out);
  } else {
    o.task = data::TaskByName(o.task).name;
    pipeline::WriteSyntheticDataSet(o, args.Get("out"), extras);
  }
  return 0;
}

int RunMakeReasoning(int argc, char** argv) {
  options::Args args(
      "make-reasoning",
      "Write a reasoning path for each question of a split (JSON lines: id, user_id, reasoning, writer,\n"
      "leaks): what the user's profile shows about their preferences, leading to the expected output.\n"
      "The sft objective trains on them with grpo.sft_reasoning=FILE. Writers: 'oracle' (synthetic\n"
      "data: from the user's true style in the data directory's styles.json) and 'teacher' (a model\n"
      "shown the question, the retrieved profile and the expected output, greedy). Paths that repeat\n"
      "the expected output are marked and counted.");
  rollout::AnswerOptions o;
  uint64_t limit = 0;
  args.Option("data", "DIR", "", "LaMP-format directory", true)
      .Option("split", "NAME", "train", "train, dev or test")
      .Option("writer", "NAME", "oracle", "oracle or teacher")
      .Option("teacher", "DIR", "", "the teacher: a decoder directory (Qwen2, Qwen3, Llama) (--writer teacher)")
      .Option("max-prompt-tokens", "N", "1024", "the teacher's prompt budget")
      .Option("max-new-tokens", "N", "256", "the teacher's reasoning and answer")
      .Option("batch-size", "N", "8", "questions per generation batch")
      .Bind("limit", "N", &limit, "only the first N questions (0: all)")
      .Option("out", "FILE", "", "the JSON-lines file to write", true);
  options::AddRetrieverOptions(args);
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  const std::string writer = args.Get("writer");
  PRLM_REQUIRE(writer == "oracle" || writer == "teacher", "--writer " << writer << ": expected oracle or teacher");
  PRLM_REQUIRE(writer == "oracle" || args.Has("teacher"), "--writer teacher needs --teacher DIR");
  PRLM_REQUIRE(args.GetInt("batch-size") >= 1, "--batch-size must be >= 1");
  data::Dataset split = data::LoadLampSplit(args.Get("data"), args.Get("split"), nullptr);
  data::KeepWindow(&split, 0, limit);
  pipeline::ReasoningStats stats;
  std::vector<data::ReasoningPath> paths;
  if (writer == "oracle") {
    paths = pipeline::OracleReasoning(split, args.Get("data"), &stats);
  } else {
    auto teacher = options::LoadPolicy(args.Get("teacher"), args);
    auto retriever = options::OpenRetriever(args, {&split}, {args.Get("retriever")});
    o.prompts.retriever = args.Get("retriever");
    o.prompts.k = args.GetInt("k");
    o.prompts.prompt.max_prompt_tokens = args.GetInt("max-prompt-tokens");
    o.prompts.prompt.chat = teacher.chat;
    std::fprintf(stderr, "make-reasoning: prompts use %s\n", teacher.chat_origin.c_str());
    o.sampling.greedy = true;
    o.sampling.max_new_tokens = args.GetInt("max-new-tokens");
    options::AddStopTokens(o.sampling, *teacher.tokenizer, teacher.model->config());
    o.batch_size = static_cast<size_t>(args.GetInt("batch-size"));
    paths = pipeline::TeacherReasoning(
        teacher.model, *teacher.tokenizer, retriever.get(), split, o, &stats,
        [](size_t done, size_t asked) { std::fprintf(stderr, "make-reasoning: %zu/%zu questions\n", done, asked); });
  }
  data::WriteReasoningFile(args.Get("out"), paths);
  std::printf("make-reasoning: wrote %zu reasoning paths (%s) for %s/%s to %s (%s)\n", stats.written, writer.c_str(),
              args.Get("data").c_str(), args.Get("split").c_str(), args.Get("out").c_str(),
              stats.Summary(writer == "teacher").c_str());
  if (stats.written < split.examples.size())
    std::fprintf(stderr,
                 "make-reasoning: warning: %zu of %zu questions have no path; grpo.sft_reasoning refuses a "
                 "file that misses training questions\n",
                 split.examples.size() - stats.written, split.examples.size());
  return 0;
}

}  // namespace prlm::cli
