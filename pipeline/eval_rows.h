// The rows of `prlm eval` and what is done with them, apart from the model
// that writes them (pipeline/evaluation.h): a row's task figures and
// per-question values, scoring a file of answers (a reference answer set, an
// outside system's predictions), LaMP's predictions files, paired bootstrap
// comparisons between rows, and the markdown table. No torch here: reports
// and tests that only read or compare rows include this header alone.
//
// A row is a JSON object (pipeline/evaluation.h's Evaluate says its keys).
// Thread-safety: free functions over values; safe from any thread.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "common/data/dataset.h"
#include "common/data/task_metrics.h"

namespace prlm::pipeline {

// The task's metrics of the scored questions' answers into `row` (then, for
// generation, ROUGE-2 and corpus BLEU), each question's values appended to
// *per_question for paired comparisons.
void AddTaskFigures(const data::TaskSpec& task, const std::vector<std::string>& references,
                    const std::vector<std::string>& hypotheses, nlohmann::ordered_json* row,
                    std::vector<data::QuestionMetric>* per_question);

// {"id": [...], "metrics": {name: {"statistic", "values"}}}: a row's
// "per_question", what CompareRows pairs.
nlohmann::ordered_json PerQuestionJson(const std::vector<std::string>& ids,
                                       const std::vector<data::QuestionMetric>& per_question);

// A row for answers that no model here wrote (a reference answer set, an
// outside system's predictions): `answers_path` in LaMP's predictions format
// ({"task", "golds": [{"id", "output"}]}, as WritePredictions writes it),
// scored like Evaluate's rows on the task's metrics (no format or reward: no
// completion), with per_question values so CompareRows can pair it; retriever
// "answers". Throws util::Error naming the file and entry for malformed
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
// {name: {"difference", "low", "high"}}}. Throws util::Error when the
// baseline has no per-question values or they share no question.
nlohmann::ordered_json CompareRows(const nlohmann::ordered_json& baseline, const nlohmann::ordered_json& row,
                                   int resamples = 10000);

// The row rows[i] is compared with: rows[i - 1] for "above", else the
// nearest row before i whose name is `compare`; null when there is none.
// (i may be rows.size(): the baseline a row about to be added would get.)
const nlohmann::ordered_json* BaselineRow(const nlohmann::ordered_json& rows, size_t i, const std::string& compare);

// Adds "compare" to rows[first_new..]: against the row above each
// (`compare` = "above") or the nearest row above named `compare`; "" or
// "none": nothing. Throws util::Error naming the row when there is none.
void AddComparisons(nlohmann::ordered_json* rows, size_t first_new, const std::string& compare, int resamples = 10000);

// "name (retriever, k=K)": how tables and comparisons name a row.
std::string RowLabel(const nlohmann::ordered_json& row);

// The rows as a markdown table; then, when some row has a comparison, a
// table of the differences with their intervals.
std::string EvalMarkdownTable(const nlohmann::ordered_json& rows);

// The rows `prlm eval --out PATH` starts from: with `append`, those already
// in PATH when it exists, else none. Throws util::Error naming the file when
// it is not a JSON array of rows, and, when `compare` is not "none", unless
// the first new row finds its baseline (said before the long part).
nlohmann::ordered_json StartingRows(const std::string& out_path, bool append, const std::string& compare);

}  // namespace prlm::pipeline
