// A task's own evaluation metrics, as LaMP's and LongLaMP's evaluators compute
// them, and the per-answer score the accuracy reward uses for the task.
//
//  classification  answers and golds stripped; an answer that is not one of the
//                  task's labels counts as a wrong class of its own.
//                  accuracy = share equal to the gold; f1 = macro F1 over all
//                  labels (sklearn's average="macro" with labels = every label:
//                  a label no gold and no answer has scores 0).
//  rating          the answer read as a number (Python's float()); one that is
//                  not a number becomes 1 or 5, whichever is further from the
//                  gold (LaMP's rule). mae, rmse.
//  generation      rouge1, rougeL (F, rouge-score without stemming), and for
//                  LongLaMP also meteor (NLTK's; needs WordNet).
//
// AnswerScore (0..1 for classification and rating; ROUGE-1+2+L, 0..3, for
// generation, PrLM's accuracy reward): 1 for the right label; for a rating
// 1 - |answer - gold| / 4, after the same mapping.
// Thread-safe: pure functions.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/data/task.h"
#include "common/util/paired_bootstrap.h"

namespace prlm::data {

// Metric name -> value, in the order a table shows them.
using MetricValues = std::vector<std::pair<std::string, double>>;

// REQUIRES: golds.size() == answers.size() (throws util::Error otherwise).
// No pairs: every metric is 0.
MetricValues TaskMetrics(const TaskSpec& task, const std::vector<std::string>& golds,
                         const std::vector<std::string>& answers);

// A metric's value on each question, and how the values make the metric:
// their mean, or the root of their mean (rmse, from squared errors).
struct QuestionMetric {
  std::string name;
  util::Statistic statistic;
  std::vector<double> values;
};
// The per-question metrics of a task (what paired bootstraps resample):
// accuracy (1 or 0); mae (|error|) and rmse (squared error); rouge1, rougeL,
// rouge2 and on LongLaMP meteor. Macro F1 has no per-question value.
std::vector<QuestionMetric> PerQuestionMetrics(const TaskSpec& task, const std::vector<std::string>& golds,
                                               const std::vector<std::string>& answers);
double Aggregate(const QuestionMetric& metric);  // 0 with no values
// sklearn's f1_score(average="macro", labels=every label of the task).
double MacroF1(const TaskSpec& task, const std::vector<std::string>& golds, const std::vector<std::string>& answers);

// The metric names TaskMetrics returns for `task`, without computing them.
std::vector<std::string> TaskMetricNames(const TaskSpec& task);

double AnswerScore(const TaskSpec& task, const std::string& gold, const std::string& answer);

// LaMP-3's reading of an answer as a rating (see above).
double RatingOf(const std::string& answer, double gold);

}  // namespace prlm::data
