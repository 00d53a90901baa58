// prlm eval: parses the options, loads the model, data, retriever and scorer,
// and runs pipeline/evaluation.h.
#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/compute_options.h"
#include "cli/config_flags.h"
#include "cli/policy_options.h"
#include "cli/retriever_options.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "pipeline/evaluation.h"
#include "pipeline/retriever_feedback.h"
#include "pipeline/retriever_selection.h"
#include "reward_server/scorer_setup.h"

namespace prlm::cli {

namespace {

// The model's rows: its policy, retriever (or selector) and the sweep.
void EvaluateModel(Args& args, const data::Dataset& dataset, reward_server::RewardScorer& scorer,
                   pipeline::EvalOptions& o, nlohmann::ordered_json* rows) {
  PRLM_REQUIRE(args.Get("sampling") == "greedy" || args.Get("sampling") == "model",
               "--sampling must be greedy or model, got '" << args.Get("sampling") << "'");
  auto policy = LoadPolicy(o.model_dir, args);
  o.chat = policy.chat;
  std::fprintf(stderr, "eval: prompts use %s\n", policy.chat_origin.c_str());
  o.sampling.greedy = true;
  if (args.Get("sampling") == "model") {
    o.sampling.greedy = false;
    o.seed = static_cast<uint64_t>(args.GetInt("seed"));
    const std::string used = ApplyModelSampling(o.model_dir, &o.sampling);
    std::fprintf(stderr, "eval: sampling %s\n",
                 used.empty() ? "at temperature 1 (the model has no generation_config.json sampling)"
                              : ("from generation_config.json: " + used).c_str());
  }
  o.sampling.max_new_tokens = args.GetInt("max-new-tokens");
  AddStopTokens(o.sampling, *policy.tokenizer, policy.model->config());
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
    retriever = OpenRetriever(args, {&dataset}, built);
    if (!feedback.empty()) retriever = pipeline::MakeOracleRetriever(feedback, std::move(retriever));
  }

  // --retriever rspg-pre / rspg-post: a selector over its candidate retrievers.
  std::unique_ptr<pipeline::CandidateRetrievers> candidates;
  std::vector<std::unique_ptr<pipeline::RetrieverSelection>> selections;
  const bool selects = std::any_of(o.retrievers.begin(), o.retrievers.end(),
                                   [](const std::string& r) { return r.rfind("rspg-", 0) == 0; });
  if (selects && !o.zero_shot) {
    PRLM_REQUIRE(args.Has("selector") && args.Has("candidates"),
                 "--retriever rspg-pre / rspg-post need --selector DIR and --candidates SPEC");
    candidates = std::make_unique<pipeline::CandidateRetrievers>(
        pipeline::ParseSelectionCandidates(args.Get("candidates")), std::vector<const data::Dataset*>{&dataset});
    for (const auto& dir : SplitList(args.Get("selector"))) {
      auto selector = pipeline::RetrieverSelector::Load(dir);
      const std::string row = "rspg-" + selector->variant();
      PRLM_REQUIRE(!o.selections.count(row), "--selector: two selectors of variant " << selector->variant());
      selections.push_back(std::make_unique<pipeline::RetrieverSelection>(std::move(selector), *candidates));
      o.selections[row] = selections.back().get();
    }
    for (const auto& r : o.retrievers)
      PRLM_REQUIRE(r.rfind("rspg-", 0) != 0 || o.selections.count(r),
                   "--retriever " << r << ": --selector has no selector of that variant");
  }

  for (auto& row : pipeline::Evaluate(policy.model, *policy.tokenizer, retriever.get(), dataset, scorer, o))
    rows->push_back(std::move(row));
}

}  // namespace

int RunEval(int argc, char** argv) {
  Args args("eval",
            "Greedy answers over a held-out split through the training job's retrieval and prompt code;\n"
            "ROUGE-1/2/L F and BLEU-4 of the answer (after </think>) against gold, the share of well-formed\n"
            "completions, and the training reward. --retriever and --k take comma lists: every pair is\n"
            "evaluated (PrLM's robustness study). Prints a markdown table; --out writes the rows as JSON.");
  config::TrainConfig config;
  ConfigFlags flags(&config);
  args.Option("model", "DIR", "", "policy directory: Qwen2, Qwen3 or Llama (or --answers)")
      .Option("answers", "FILE", "",
              "instead of a model: score these answers (LaMP's predictions format, as --predictions writes it;\n"
              "make-synthetic --reference-answers writes the synthetic data's reference answers)")
      .Option("name", "LABEL", "", "the model's name in the table (default: the directory's or file's name)")
      .Option("data", "DIR", "", "LaMP-format directory", true)
      .Option("split", "NAME", "test", "dev or test (held-out users)")
      .Option("task", "NAME", "", "task, when no outputs file names it")
      .Flag("zero-shot", "no profile in the prompt (ignores --retriever and --k)")
      .Option("max-new-tokens", "N", "128", "completion limit")
      .Option("sampling", "greedy|model", "greedy",
              "greedy, or the model's generation_config.json sampling (temperature, top_p, top_k; do_sample\n"
              "false stays greedy), one sample per question, seeded by --seed and the question's place")
      .Option("seed", "S", "42", "with --sampling model: the run's seed")
      .Option("batch-size", "N", "16", "questions per generation batch")
      .Option("limit", "N", "0", "only the first N questions (0: all)")
      .Option("out", "FILE", "", "write the rows as JSON (with --append: add to the rows already there)")
      .Flag("append", "keep the rows already in --out")
      .Option("compare", "ROW", "none",
              "add a paired bootstrap 95% interval of each new row's difference against 'above' (the row above "
              "it: with --append, the last row already in --out) or the nearest row above with this --name")
      .Option("completions", "FILE", "", "write every completion, its answer and the gold output (JSON lines)")
      .Option("predictions", "FILE", "",
              "write the answers in LaMP's leaderboard format ({\"task\", \"golds\": [{\"id\", \"output\"}]}); "
              "default where some golds are hidden: SPLIT_predictions.json beside --out (or here)");
  flags.Map(args, "max-prompt-tokens", "grpo.max_prompt_tokens")
      .Map(args, "open-think", "grpo.open_think")
      .Map(args, "reward-model", "reward.model")
      .Map(args, "w-acc", "reward.w_acc")
      .Map(args, "w-sim", "reward.w_sim")
      .Map(args, "w-fmt", "reward.w_fmt")
      .Map(args, "w-pers", "reward.w_pers");
  AddRetrieverOptions(args,
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
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  std::unique_ptr<reward_server::RewardScorer> scorer;
  flags.Apply(args, [&] {
    if (!args.Has("reward-model")) config.reward.w_pers = 0;  // no reward model: the term counts 0
    scorer = reward_server::MakeRewardScorer(config.reward);
  });
  pipeline::EvalOptions o;
  o.retrievers = SplitList(args.Get("retriever"));
  o.ks = args.GetPositiveInts("k");
  PRLM_REQUIRE(!o.retrievers.empty() && !o.ks.empty(), "--retriever and --k need at least one value each");
  PRLM_REQUIRE(args.GetInt("batch-size") >= 1, "--batch-size must be at least 1");
  o.batch_size = static_cast<size_t>(args.GetInt("batch-size"));
  o.zero_shot = args.GetFlag("zero-shot");
  o.max_prompt_tokens = static_cast<int>(config.grpo.max_prompt_tokens);
  o.open_think = config.grpo.open_think;
  o.scorer_has_format = config.reward.w_fmt != 0;
  o.completions_path = args.Get("completions");
  PRLM_REQUIRE(args.Has("model") != args.Has("answers"), "eval: give --model DIR or --answers FILE (one of them)");
  o.model_dir = args.Has("model") ? args.Get("model") : args.Get("answers");
  o.split = args.Get("split");
  o.name = args.Has("name") ? args.Get("name") : std::filesystem::path(o.model_dir).filename().string();

  const data::TaskSpec* task = args.Get("task").empty() ? nullptr : &data::TaskByName(args.Get("task"));
  data::Dataset dataset = data::LoadLampSplit(args.Get("data"), o.split, task);
  if (args.GetInt("limit") > 0 && static_cast<size_t>(args.GetInt("limit")) < dataset.examples.size())
    dataset.examples.resize(static_cast<size_t>(args.GetInt("limit")));
  // LaMP hides the test split's golds: those questions get predictions, not scores.
  size_t hidden = 0;
  for (const auto& ex : dataset.examples) hidden += ex.output ? 0 : 1;
  o.predictions_path = args.Get("predictions");
  if (hidden > 0 && o.predictions_path.empty()) {
    const std::string dir =
        args.Get("out").empty() ? "." : std::filesystem::path(args.Get("out")).parent_path().string();
    o.predictions_path = (dir.empty() ? "." : dir) + "/" + o.split + "_predictions.json";
  }
  if (hidden > 0)
    std::fprintf(stderr,
                 "eval: %zu of %zu questions have no gold output (hidden): they are answered, not scored; "
                 "predictions go to %s\n",
                 hidden, dataset.examples.size(), o.predictions_path.c_str());
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  const std::string out_path = args.Get("out");
  if (args.GetFlag("append") && !out_path.empty() && std::filesystem::exists(out_path)) {
    try {
      rows = nlohmann::ordered_json::parse(util::ReadFile(out_path));
    } catch (const nlohmann::json::exception& e) {
      PRLM_THROW(out_path << ": cannot append to it: " << e.what());
    }
    PRLM_REQUIRE(rows.is_array(), out_path << ": cannot append to it: not a JSON array of rows");
  }
  // The first new row's baseline must already be there: say so before the long part.
  const size_t first_new = rows.size();
  const std::string compare = args.Get("compare");
  PRLM_REQUIRE(compare == "none" || pipeline::BaselineRow(rows, first_new, compare) != nullptr,
               "--compare " << compare << ": " << (out_path.empty() ? "no --out file" : "no row in " + out_path)
                            << (compare == "above" ? " to compare with (use --append with an --out that has rows)"
                                                   : " has that name"));
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
