// `prlm eval`'s pipeline: greedy answers over a held-out split through the
// training job's question-answering path (common/rollout/answer_questions.h:
// retrieval, PrLM prompts, generation, one scoring request), scored with
// ROUGE-1/2/L F and BLEU-4 of the answer after </think> against gold, the
// share of well-formed completions, and the training reward. One row per
// (retriever, k) of the sweep. What is done with the rows (comparisons,
// tables, scoring answer files) is in pipeline/eval_rows.h.
//
// Thread-safety: one call at a time per policy.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "common/data/dataset.h"
#include "common/generation/generate.h"
#include "common/text/prompt.h"
#include "common/model/causal_lm.h"
#include "common/retrieval/profile_retriever.h"
#include "common/text/tokenizer.h"
#include "pipeline/eval_rows.h"
#include "reward_server/reward_scorer.h"

namespace prlm::pipeline {

class RetrieverSelection;  // pipeline/retriever_selection.h

struct EvalOptions {
  std::string name;              // the model's name in the table
  std::string model_dir, split;  // recorded in each row
  bool zero_shot = false;        // no profile (the sweep is one "none" row)
  std::vector<std::string> retrievers;
  std::vector<int> ks;
  int max_prompt_tokens = 512;
  bool open_think = false;
  text::ChatRenderer chat;         // the policy's chat template; empty: ChatML
  generation::SamplingParams sampling;  // greedy (or sampled), max_new_tokens, stop tokens
  uint64_t seed = 42;              // sampled: question i draws from SampleSeed(seed, i, 0)
  size_t batch_size = 16;          // questions per generation batch
  bool scorer_has_format = true;   // else the format rate is counted here
  std::string completions_path;    // every completion as JSON lines ("" : none)
  std::string predictions_path;    // LaMP's leaderboard file of the answers ("" : none)
  // Rows whose retriever is a key here ("rspg-pre", "rspg-post") answer
  // through that retriever selection (pipeline/retriever_selection.h); their
  // rows also get "selected": how often each candidate was picked.
  std::map<std::string, RetrieverSelection*> selections;
};

// Questions without a gold output (LaMP's hidden test golds) are answered,
// not scored: when `dataset` has some and o->predictions_path is empty, their
// answers go to SPLIT_predictions.json beside `out_path` (or in the working
// directory). Says so on stderr; returns how many golds are hidden.
size_t PlanPredictions(const data::Dataset& dataset, const std::string& out_path, EvalOptions* o);

// Rows (JSON objects: name, model, split, retriever, k, n (questions scored:
// those with a gold output), predicted (every question), skipped, task, the
// task's own metrics (data::TaskMetrics: accuracy and f1, mae and rmse, or
// rouge1 and rougeL plus meteor on LongLaMP), for generation also rouge2 and
// bleu, then format and reward (every figure null when nothing was scored),
// seconds, and per_question: {"id": [...], "metrics": {name: {"statistic":
// "mean" | "root_mean", "values": [...]}}}, for CompareRows). Questions without a gold output (LaMP's hidden test
// split) are answered but not scored; with predictions_path their answers go to a file in LaMP's leaderboard format,
// {"task": ..., "golds": [{"id", "output"}]}, one per (retriever, k) when the sweep has several (PredictionsPath).
// REQUIRES: some gold output or a predictions path; `retriever` may be null
// when zero_shot.
nlohmann::ordered_json Evaluate(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                retrieval::ProfileRetriever* retriever, const data::Dataset& dataset,
                                reward_server::RewardScorer& scorer, const EvalOptions& options);

}  // namespace prlm::pipeline
