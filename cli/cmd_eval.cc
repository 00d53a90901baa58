// prlm eval: parses the options, loads the model, data, retriever and scorer,
// and runs pipeline/evaluation.h.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/commands.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "options/args.h"
#include "options/compute_options.h"
#include "options/config_flags.h"
#include "options/policy_options.h"
#include "options/retriever_options.h"
#include "pipeline/evaluation.h"
#include "pipeline/retriever_feedback.h"
#include "pipeline/retriever_selection.h"
#include "reward_server/scorer_setup.h"

namespace prlm::cli {

namespace {

// The model's rows: its policy, retriever (or selector) and the sweep.
void EvaluateModel(options::Args& args, const data::Dataset& dataset, reward_server::RewardScorer& scorer,
                   pipeline::EvalOptions& o, nlohmann::ordered_json* rows) {
  PRLM_REQUIRE(args.Get("sampling") == "greedy" || args.Get("sampling") == "model",
               "--sampling must be greedy or model, got '" << args.Get("sampling") << "'");
  auto policy = options::LoadPolicy(o.model_dir, args);
  o.chat = policy.chat;
  std::fprintf(stderr, "eval: prompts use %s\n", policy.chat_origin.c_str());
  o.sampling.greedy = true;
  if (args.Get("sampling") == "model") {
    o.sampling.greedy = false;
    const std::string used = generation::ApplyModelSampling(o.model_dir, &o.sampling);
    std::fprintf(stderr, "eval: sampling %s\n",
                 used.empty() ? "at temperature 1 (the model has no generation_config.json sampling)"
                              : ("from generation_config.json: " + used).c_str());
  }
  o.sampling.max_new_tokens = args.GetInt("max-new-tokens");
  options::AddStopTokens(o.sampling, *policy.tokenizer, policy.model->config());
  std::unique_ptr<retrieval::ProfileRetriever> retriever;
  if (!o.zero_shot) {
    // --retriever oracle: the feedback's candidates by utility, fetched from its first stage.
    std::vector<pipeline::FeedbackRecord> feedback;
    std::vector<std::string> built = o.retrievers;
    if (args.Has("feedback")) {
      feedback = pipeline::ReadFeedback(args.Get("feedback"));
      built.push_back(feedback.front().first_stage);
    }
    PRLM_REQUIRE(
        args.Has("feedback") || std::find(o.retrievers.begin(), o.retrievers.end(), "oracle") == o.retrievers.end(),
        "--retriever oracle needs --feedback FILE (collect-feedback on this split)");
    retriever = options::OpenRetriever(args, {&dataset}, built);
    if (!feedback.empty()) retriever = pipeline::MakeOracleRetriever(feedback, std::move(retriever));
  }

  // --retriever rspg-pre / rspg-post: a selector over its candidate retrievers.
  pipeline::SelectionSet selections;
  const bool selects = std::any_of(o.retrievers.begin(), o.retrievers.end(),
                                   [](const std::string& r) { return r.rfind("rspg-", 0) == 0; });
  if (selects && !o.zero_shot) {
    PRLM_REQUIRE(args.Has("selector") && args.Has("candidates"),
                 "--retriever rspg-pre / rspg-post need --selector DIR and --candidates SPEC");
    selections = pipeline::LoadSelections(options::SplitList(args.Get("selector")), args.Get("candidates"), dataset,
                                          o.retrievers);
    o.selections = selections.by_row;
  }

  for (auto& row : pipeline::Evaluate(policy.model, *policy.tokenizer, retriever.get(), dataset, scorer, o))
    rows->push_back(std::move(row));
}

}  // namespace

int RunEval(int argc, char** argv) {
  options::Args args("eval",
                     "Greedy answers over a held-out split through the training job's retrieval and prompt code;\n"
                     "ROUGE-1/2/L F and BLEU-4 of the answer (after </think>) against gold, the share of well-formed\n"
                     "completions, and the training reward. --retriever and --k take comma lists: every pair is\n"
                     "evaluated (PrLM's robustness study). Prints a markdown table; --out writes the rows as JSON.");
  config::TrainConfig config;
  options::ConfigFlags flags(&config);
  pipeline::EvalOptions o;
  uint64_t limit = 0;
  args.Option("model", "DIR", "", "policy directory: Qwen2, Qwen3 or Llama (or --answers)")
      .Option("answers", "FILE", "",
              "instead of a model: score these answers (LaMP's predictions format, as --predictions writes it;\n"
              "make-synthetic --reference-answers writes the synthetic data's reference answers)")
      .Option("name", "LABEL", "", "the model's name in the table (default: the directory's or file's name)")
      .Option("data", "DIR", "", "LaMP-format directory", true)
      .Option("split", "NAME", "test", "dev or test (held-out users)")
      .Option("task", "NAME", "", "task, when no outputs file names it")
      .Bind("zero-shot", &o.zero_shot, "no profile in the prompt (ignores --retriever and --k)")
      .Option("max-new-tokens", "N", "128", "completion limit")
      .Option("sampling", "greedy|model", "greedy",
              "greedy, or the model's generation_config.json sampling (temperature, top_p, top_k; do_sample\n"
              "false stays greedy), one sample per question, seeded by --seed and the question's place")
      .Bind("seed", "S", &o.seed, "with --sampling model: the run's seed")
      .Bind("batch-size", "N", &o.batch_size, "questions per generation batch")
      .Bind("limit", "N", &limit, "only the first N questions (0: all)")
      .Option("out", "FILE", "", "write the rows as JSON (with --append: add to the rows already there)")
      .Flag("append", "keep the rows already in --out")
      .Option("compare", "ROW", "none",
              "add a paired bootstrap 95% interval of each new row's difference against 'above' (the row above "
              "it: with --append, the last row already in --out) or the nearest row above with this --name")
      .Bind("completions", "FILE", &o.completions_path,
            "write every completion, its answer and the gold output (JSON lines)")
      .Bind("predictions", "FILE", &o.predictions_path,
            "write the answers in LaMP's leaderboard format ({\"task\", \"golds\": [{\"id\", \"output\"}]}); "
            "default where some golds are hidden: SPLIT_predictions.json beside --out (or here)");
  flags.Map(args, "max-prompt-tokens", "grpo.max_prompt_tokens")
      .Map(args, "open-think", "grpo.open_think")
      .Map(args, "reward-model", "reward.model")
      .Map(args, "w-acc", "reward.w_acc")
      .Map(args, "w-sim", "reward.w_sim")
      .Map(args, "w-fmt", "reward.w_fmt")
      .Map(args, "w-pers", "reward.w_pers");
  options::AddRetrieverOptions(args,
                               "comma list of bm25, dense, dense_hnsw, recency, random, oracle (with --feedback),\n"
                               "rspg-pre, rspg-post (with --selector and --candidates)",
                               "comma list of k values");
  args.Option("feedback", "FILE", "",
              "collect-feedback's file for this split: --retriever oracle orders each\n"
              "question's candidates by their utility")
      .Option("selector", "DIR[,DIR]", "",
              "train-selector's output: --retriever rspg-pre and rspg-post each use the\n"
              "selector of that variant (RSPG)")
      .Option("candidates", "SPEC", "",
              "the retrievers the selector chooses from, as collect-selection took them:\n"
              "none,recency,bm25,NAME=ENCODER_DIR,...");
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  std::unique_ptr<reward_server::RewardScorer> scorer;
  flags.Apply(args, [&] {
    if (!args.Has("reward-model")) config.reward.w_pers = 0;  // no reward model: the term counts 0
    scorer = reward_server::MakeRewardScorer(config.reward);
  });
  o.retrievers = options::SplitList(args.Get("retriever"));
  o.ks = args.GetPositiveInts("k");
  PRLM_REQUIRE(!o.retrievers.empty() && !o.ks.empty(), "--retriever and --k need at least one value each");
  PRLM_REQUIRE(o.batch_size >= 1, "--batch-size must be at least 1");
  o.max_prompt_tokens = static_cast<int>(config.grpo.max_prompt_tokens);
  o.open_think = config.grpo.open_think;
  o.scorer_has_format = config.reward.w_fmt != 0;
  PRLM_REQUIRE(args.Has("model") != args.Has("answers"), "eval: give --model DIR or --answers FILE (one of them)");
  o.model_dir = args.Has("model") ? args.Get("model") : args.Get("answers");
  o.split = args.Get("split");
  o.name = args.Has("name") ? args.Get("name") : std::filesystem::path(o.model_dir).filename().string();

  data::Dataset dataset = data::LoadLampSplit(args.Get("data"), o.split, data::TaskOrNull(args.Get("task")));
  data::KeepWindow(&dataset, 0, limit);
  const std::string out_path = args.Get("out"), compare = args.Get("compare");
  pipeline::PlanPredictions(dataset, out_path, &o);
  nlohmann::ordered_json rows = pipeline::StartingRows(out_path, args.GetFlag("append"), compare);
  const size_t first_new = rows.size();
  if (args.Has("answers")) {
    rows.push_back(pipeline::ScoreAnswers(dataset, args.Get("answers"), o.name, o.split));
  } else {
    EvaluateModel(args, dataset, *scorer, o, &rows);
  }
  pipeline::AddComparisons(&rows, first_new, compare);
  std::printf("%s", pipeline::EvalMarkdownTable(rows).c_str());
  if (!out_path.empty()) util::WriteFileAtomic(out_path, rows.dump(2) + "\n");
  return 0;
}

}  // namespace prlm::cli
