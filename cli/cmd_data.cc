// prlm check-data / prlm make-synthetic / prlm make-reasoning.
#include <chrono>
#include <cstdio>
#include <filesystem>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/compute_options.h"
#include "cli/policy_options.h"
#include "cli/retriever_options.h"
#include "common/data/dataset.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "pipeline/reasoning_paths.h"
#include "pipeline/synthetic_data_set.h"
#include "pipeline/teacher_reasoning.h"

namespace prlm::cli {
namespace {

namespace fs = std::filesystem;

void PrintDataset(const data::Dataset& ds, double seconds) {
  std::printf("== %s (loaded in %.2f s)\n%s", ds.source.c_str(), seconds,
              data::FormatStats(ds, data::ComputeStats(ds)).c_str());
}

}  // namespace

int RunCheckData(int argc, char** argv) {
  Args args("check-data",
            "Validate a LaMP or LongLaMP data set and print its statistics. DATA is a LaMP\n"
            "directory ({split}_questions.json [+ {split}_outputs.json] for each split found),\n"
            "a LaMP questions file, or a LongLaMP file (JSON array or JSON lines).");
  args.Option("data", "PATH", "", "directory or file", true)
      .Option("task", "NAME", "",
              "task (needed when no outputs file names it; e.g. LaMP_4, "
              "product_review)")
      .Option("outputs", "FILE", "", "LaMP outputs file for a questions file given as --data");
  if (!args.Parse(argc, argv)) return 0;
  const std::string path = args.Get("data");
  const data::TaskSpec* task = args.Get("task").empty() ? nullptr : &data::TaskByName(args.Get("task"));
  auto timed = [](auto load) {
    const auto t0 = std::chrono::steady_clock::now();
    data::Dataset ds = load();
    PrintDataset(ds, std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
  };
  if (fs::is_directory(path)) {
    // Every split is checked; a bad one is reported and does not hide the others.
    int found = 0, failed = 0;
    for (const char* split : {"train", "dev", "test", "val"}) {
      if (!fs::exists(path + "/" + split + "_questions.json")) continue;
      ++found;
      try {
        timed([&] { return data::LoadLampSplit(path, split, task); });
      } catch (const util::Error& e) {
        std::printf("== %s/%s_questions.json: FAILED\n%s\n", path.c_str(), split, e.what());
        ++failed;
      }
    }
    PRLM_REQUIRE(found, path << ": no {train,dev,test,val}_questions.json here");
    PRLM_REQUIRE(!failed, failed << " of " << found << " splits of " << path << " failed (above)");
  } else if (task && task->benchmark == data::Benchmark::kLongLamp) {
    timed([&] { return data::LoadLongLamp(path, *task); });
  } else {
    PRLM_REQUIRE(fs::exists(path), path << ": no such file or directory");
    timed([&] { return data::LoadLamp(path, args.Get("outputs"), task); });
  }
  std::printf("ok\n");
  return 0;
}

int RunMakeSynthetic(int argc, char** argv) {
  Args args("make-synthetic",
            "Write LaMP- or LongLaMP-format train/dev/test splits in which every user has a\n"
            "consistent personal habit (docs/synthetic_data.md). Dev and test users are held out.");
  args.Option("task", "NAME", "lamp4",
              "any task: lamp1 to lamp7, lamp2n, product_review,\n"
              "abstract_generation, topic_writing")
      .Option("users", "N", "100", "number of users over all splits")
      .Option("seed", "S", "1", "random seed")
      .Option("min-profile", "N", "16", "fewest profile items per user")
      .Option("max-profile", "N", "32", "most profile items per user")
      .Option("questions-per-user", "N", "2", "questions per user")
      .Option("dev-users", "N", "0", "held-out dev users (0: a tenth of --users)")
      .Option("test-users", "N", "0",
              "held-out test users, the draw's last (0: a tenth of --users); users are\n"
              "drawn in order, so raising --users and --test-users together keeps the\n"
              "train and dev users and adds test users")
      .Option("rm-pairs", "FILE", "",
              "also write oracle reward-model pairs of the train split (JSON lines:\n"
              "the user's gold output chosen over the profile-blind one)")
      .Option("reference-answers", "DIR", "",
              "also write the test split's reference answers in LaMP's predictions format, for prlm eval\n"
              "--answers: DIR/blind.json (the profile-blind answer) and DIR/profile.json (the habit read off\n"
              "the profile)")
      .Option("corpus", "FILE", "",
              "also write every text of the train split (inputs, outputs, profile\n"
              "fields), one per line: a corpus for train-tokenizer")
      .Option("out", "DIR", "", "output directory", true)
      .Flag("preferences",
            "write per-user preference pairs for LoRe instead (pairs.jsonl, truth.json);\n"
            "--users then counts the seen users")
      .Option("unseen-users", "N", "20", "--preferences: users held out (few-shot pairs + test pairs)")
      .Option("train-pairs", "N", "60", "--preferences: train pairs per seen user")
      .Option("test-pairs", "N", "30", "--preferences: test pairs per user (prompts no train pair uses)")
      .Option("fewshot-pairs", "N", "20", "--preferences: adaptation pairs per unseen user")
      .Option("task-out", "DIR", "",
              "--preferences: also write a generation task over the seen users\n"
              "(LongLaMP topic writing: train and test splits, profile = their first\n"
              "--profile-pairs chosen answers) and DIR/rm_pairs.jsonl for train-rm")
      .Option("profile-pairs", "N", "12", "--task-out: train pairs per user shown as the profile")
      .Flag("topic-style",
            "retrieval matters (ROPG): each favourite topic has its own prefix and suffix,\n"
            "and every question's profile gets --distractors items on other topics that\n"
            "repeat its content words; prints top-1 figures of bm25, recency, random and\n"
            "the oracle")
      .Option("distractors", "N", "1", "--topic-style: lexical distractors per question");
  if (!args.Parse(argc, argv)) return 0;
  if (args.GetFlag("preferences")) {
    pipeline::SyntheticPreferenceOptions p;
    p.seen_users = static_cast<int>(args.GetInt("users"));
    p.unseen_users = static_cast<int>(args.GetInt("unseen-users"));
    p.train_pairs = static_cast<int>(args.GetInt("train-pairs"));
    p.test_pairs = static_cast<int>(args.GetInt("test-pairs"));
    p.fewshot_pairs = static_cast<int>(args.GetInt("fewshot-pairs"));
    p.seed = static_cast<uint64_t>(args.GetInt("seed"));
    pipeline::WriteSyntheticPreferenceSet(p, args.Get("out"), {args.Get("task-out"), args.GetInt("profile-pairs")});
    return 0;
  }
  pipeline::SyntheticOptions o;
  o.task = data::TaskByName(args.Get("task")).name;
  o.users = args.GetInt("users");
  o.seed = static_cast<uint64_t>(args.GetInt("seed"));
  o.min_profile = args.GetInt("min-profile");
  o.max_profile = args.GetInt("max-profile");
  o.questions_per_user = args.GetInt("questions-per-user");
  o.dev_users = args.GetInt("dev-users");
  o.test_users = args.GetInt("test-users");
  o.topic_style = args.GetFlag("topic-style");
  o.distractors = args.GetInt("distractors");
  pipeline::WriteSyntheticDataSet(o, args.Get("out"),
                                  {args.Get("rm-pairs"), args.Get("reference-answers"), args.Get("corpus")});
  return 0;
}

int RunMakeReasoning(int argc, char** argv) {
  Args args("make-reasoning",
            "Write a reasoning path for each question of a split (JSON lines: id, user_id, reasoning, writer,\n"
            "leaks): what the user's profile shows about their preferences, leading to the expected output.\n"
            "The sft objective trains on them with grpo.sft_reasoning=FILE. Writers: 'oracle' (synthetic\n"
            "data: from the user's true style in the data directory's styles.json) and 'teacher' (a model\n"
            "shown the question, the retrieved profile and the expected output, greedy). Paths that repeat\n"
            "the expected output are marked and counted.");
  args.Option("data", "DIR", "", "LaMP-format directory", true)
      .Option("split", "NAME", "train", "train, dev or test")
      .Option("writer", "NAME", "oracle", "oracle or teacher")
      .Option("teacher", "DIR", "", "the teacher: a decoder directory (Qwen2, Qwen3, Llama) (--writer teacher)")
      .Option("max-prompt-tokens", "N", "1024", "the teacher's prompt budget")
      .Option("max-new-tokens", "N", "256", "the teacher's reasoning and answer")
      .Option("batch-size", "N", "8", "questions per generation batch")
      .Option("limit", "N", "0", "only the first N questions (0: all)")
      .Option("out", "FILE", "", "the JSON-lines file to write", true);
  AddRetrieverOptions(args);
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  const std::string writer = args.Get("writer");
  PRLM_REQUIRE(writer == "oracle" || writer == "teacher", "--writer " << writer << ": expected oracle or teacher");
  PRLM_REQUIRE(writer == "oracle" || args.Has("teacher"), "--writer teacher needs --teacher DIR");
  PRLM_REQUIRE(args.GetInt("limit") >= 0 && args.GetInt("batch-size") >= 1, "--limit must be >= 0, --batch-size >= 1");
  data::Dataset split = data::LoadLampSplit(args.Get("data"), args.Get("split"), nullptr);
  if (args.GetInt("limit") > 0 && static_cast<size_t>(args.GetInt("limit")) < split.examples.size())
    split.examples.resize(static_cast<size_t>(args.GetInt("limit")));
  pipeline::ReasoningStats stats;
  std::vector<data::ReasoningPath> paths;
  if (writer == "oracle") {
    const std::string styles_path = args.Get("data") + "/styles.json";
    nlohmann::json styles;
    try {
      styles = nlohmann::json::parse(util::ReadFile(styles_path));
    } catch (const nlohmann::json::exception& e) {
      PRLM_THROW(styles_path << ": not JSON: " << e.what());
    }
    paths = pipeline::OracleReasoning(split, styles, styles_path, &stats);
  } else {
    auto teacher = LoadPolicy(args.Get("teacher"), args);
    auto retriever = OpenRetriever(args, {&split}, {args.Get("retriever")});
    rollout::AnswerOptions o;
    o.prompts.retriever = args.Get("retriever");
    o.prompts.k = args.GetInt("k");
    o.prompts.prompt.max_prompt_tokens = args.GetInt("max-prompt-tokens");
    o.prompts.prompt.chat = teacher.chat;
    std::fprintf(stderr, "make-reasoning: prompts use %s\n", teacher.chat_origin.c_str());
    o.sampling.greedy = true;
    o.sampling.max_new_tokens = args.GetInt("max-new-tokens");
    AddStopTokens(o.sampling, *teacher.tokenizer, teacher.model->config());
    o.batch_size = static_cast<size_t>(args.GetInt("batch-size"));
    paths = pipeline::TeacherReasoning(
        teacher.model, *teacher.tokenizer, retriever.get(), split, o, &stats,
        [](size_t done, size_t asked) { std::fprintf(stderr, "make-reasoning: %zu/%zu questions\n", done, asked); });
  }
  data::WriteReasoningFile(args.Get("out"), paths);
  std::printf("make-reasoning: wrote %zu reasoning paths (%s) for %s/%s to %s (%zu repeat the expected output",
              stats.written, writer.c_str(), args.Get("data").c_str(), args.Get("split").c_str(),
              args.Get("out").c_str(), stats.leaks);
  if (writer == "teacher")
    std::printf("; %zu questions could not be asked%s, %zu got no reasoning", stats.not_asked,
                stats.first_error.empty() ? "" : (" (the first: " + stats.first_error + ")").c_str(), stats.empty);
  std::printf(")\n");
  if (stats.written < split.examples.size())
    std::fprintf(stderr,
                 "make-reasoning: warning: %zu of %zu questions have no path; grpo.sft_reasoning refuses a "
                 "file that misses training questions\n",
                 split.examples.size() - stats.written, split.examples.size());
  return 0;
}

}  // namespace prlm::cli
