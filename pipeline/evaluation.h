// `prlm eval`'s pipeline: greedy answers over a held-out split through the
// training job's question-answering path (common/rollout/answer_questions.h:
// retrieval, PrLM prompts, generation, one scoring request), scored with
// ROUGE-1/2/L F and BLEU-4 of the answer after </think> against gold, the
// share of well-formed completions, and the training reward. One row per
// (retriever, k) of the sweep.
//
// Thread-safety: one call at a time per policy.
#pragma once

#include <nlohmann/json.hpp>

#include <map>
#include <string>
#include <vector>

#include "common/data/dataset.h"
#include "common/model/generation.h"
#include "common/text/prompt.h"
#include "common/model/qwen2.h"
#include "common/retrieval/profile_retriever.h"
#include "common/text/tokenizer.h"
#include "reward_server/reward_scorer.h"

namespace prlm::pipeline {

class RetrieverSelection;  // pipeline/retriever_selection.h

struct EvalOptions {
  std::string name;                  // the model's name in the table
  std::string model_dir, split;      // recorded in each row
  bool zero_shot = false;            // no profile (the sweep is one "none" row)
  std::vector<std::string> retrievers;
  std::vector<int> ks;
  int max_prompt_tokens = 512;
  bool open_think = false;
  text::ChatRenderer chat;           // the policy's chat template; empty: ChatML
  model::SamplingParams sampling;    // greedy (or sampled), max_new_tokens, stop tokens
  uint64_t seed = 42;                // sampled: question i draws from SampleSeed(seed, i, 0)
  size_t batch_size = 16;            // questions per generation batch
  bool scorer_has_format = true;     // else the format rate is counted here
  std::string completions_path;      // every completion as JSON lines ("" : none)
  std::string predictions_path;      // LaMP's leaderboard file of the answers ("" : none)
  // Rows whose retriever is a key here ("rspg-pre", "rspg-post") answer
  // through that retriever selection (pipeline/retriever_selection.h); their
  // rows also get "selected": how often each candidate was picked.
  std::map<std::string, RetrieverSelection*> selections;
};

// Rows (JSON objects: name, model, split, retriever, k, n (questions scored:
// those with a gold output), predicted (every question), skipped, task, the
// task's own metrics (data::TaskMetrics: accuracy and f1, mae and rmse, or
// rouge1 and rougeL plus meteor on LongLaMP), for generation also rouge2 and
// bleu, then format and reward (every figure null when nothing was scored),
// seconds, and per_question: {"id": [...], "metrics": {name: {"statistic":
// "mean" | "root_mean", "values": [...]}}}, for CompareRows). Questions without a gold output (LaMP's hidden test split) are
// answered but not scored; with predictions_path their answers go to a file
// in LaMP's leaderboard format, {"task": ..., "golds": [{"id", "output"}]},
// one per (retriever, k) when the sweep has several (PredictionsPath).
// REQUIRES: some gold output or a predictions path; `retriever` may be null
// when zero_shot.
nlohmann::ordered_json Evaluate(model::Qwen2ForCausalLM& policy, const text::Tokenizer& tokenizer,
                                retrieval::ProfileRetriever* retriever, const data::Dataset& dataset,
                                reward::RewardScorer& scorer, const EvalOptions& options);

// A row for answers that no model here wrote (a reference answer set, an
// outside system's predictions): `answers_path` in LaMP's predictions format
// ({"task", "golds": [{"id", "output"}]}, as WritePredictions writes it),
// scored like Evaluate's rows on the task's metrics (no format or reward: no
// completion), with per_question values so CompareRows can pair it; retriever
// "answers". Throws prlm::Error naming the file and entry for malformed
// JSON, a repeated id, or a question with a gold output but no answer.
nlohmann::ordered_json ScoreAnswers(const data::Dataset& dataset, const std::string& answers_path,
                                    const std::string& name, const std::string& split);

// LaMP's leaderboard format, {"task": ..., "golds": [{"id", "output"}]}: one
// answer per example of `dataset`, in order.
void WritePredictions(const std::string& path, const data::Dataset& dataset, const std::vector<std::string>& answers);

// `path`, or with "-RETRIEVER-kK" before its extension when the sweep has
// more than one (retriever, k).
std::string PredictionsPath(const std::string& path, const std::string& retriever, int k, size_t sweep_size);

// A row's paired comparison with a baseline row: the questions both scored
// (matched by id), and for every metric both have per question (the task's,
// format, reward; not F1 or corpus BLEU) the difference row - baseline with
// a 95% paired bootstrap interval (util/paired_bootstrap.h, `resamples`,
// seed 1): {"against", "n", "resamples", "level", "method", "metrics":
// {name: {"difference", "low", "high"}}}. Throws prlm::Error when the
// baseline has no per-question values or they share no question.
nlohmann::ordered_json CompareRows(const nlohmann::ordered_json& baseline, const nlohmann::ordered_json& row,
                                   int resamples = 10000);

// The row rows[i] is compared with: rows[i - 1] for "above", else the
// nearest row before i whose name is `compare`; null when there is none.
// (i may be rows.size(): the baseline a row about to be added would get.)
const nlohmann::ordered_json* BaselineRow(const nlohmann::ordered_json& rows, size_t i, const std::string& compare);

// Adds "compare" to rows[first_new..]: against the row above each
// (`compare` = "above") or the nearest row above named `compare`; "" or
// "none": nothing. Throws prlm::Error naming the row when there is none.
void AddComparisons(nlohmann::ordered_json* rows, size_t first_new, const std::string& compare, int resamples = 10000);

// "name (retriever, k=K)": how tables and comparisons name a row.
std::string RowLabel(const nlohmann::ordered_json& row);

// The rows as a markdown table; then, when some row has a comparison, a
// table of the differences with their intervals.
std::string EvalMarkdownTable(const nlohmann::ordered_json& rows);

}  // namespace prlm::pipeline
