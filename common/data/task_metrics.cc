#include "common/data/task_metrics.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

#include "common/text/meteor.h"
#include "common/text/metrics.h"
#include "common/text/unicode.h"
#include "common/util/check.h"

namespace prlm::data {
namespace {

std::string Stripped(const std::string& s) { return std::string(text::StripAsciiSpace(s)); }

// Index of the answer in the label list, -1 when it is none of them.
int LabelIndex(const TaskSpec& task, const std::string& answer) {
  const std::string a = Stripped(answer);
  for (size_t i = 0; i < task.labels.size(); ++i)
    if (task.labels[i] == a) return static_cast<int>(i);
  return -1;
}

// Python's float() on a string: optional sign, digits with one optional point,
// optional exponent, surrounded by whitespace; also inf/infinity/nan.
bool ParsePythonFloat(const std::string& s_in, double* out) {
  const std::string s(text::StripAsciiSpace(s_in));
  if (s.empty() || s.find_first_of("xXpP") != std::string::npos) return false;  // strtod's hex forms
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  if (end != s.c_str() + s.size()) return false;
  *out = v;
  return true;
}

}  // namespace

double RatingOf(const std::string& answer, double gold) {
  double v = 0;
  if (ParsePythonFloat(answer, &v)) return v;
  return std::abs(1 - gold) > std::abs(5 - gold) ? 1.0 : 5.0;
}

std::vector<std::string> TaskMetricNames(const TaskSpec& task) {
  switch (task.metric) {
    case TaskMetric::kClassification:
      return {"accuracy", "f1"};
    case TaskMetric::kRating:
      return {"mae", "rmse"};
    case TaskMetric::kGeneration:
      if (task.benchmark == Benchmark::kLongLamp) return {"rouge1", "rougeL", "meteor"};
      return {"rouge1", "rougeL"};
  }
  return {};
}

double MacroF1(const TaskSpec& task, const std::vector<std::string>& golds, const std::vector<std::string>& answers) {
  PRLM_REQUIRE(golds.size() == answers.size(),
               "task metrics: " << golds.size() << " golds but " << answers.size() << " answers");
  const size_t labels = task.labels.size();
  if (labels == 0) return 0;
  std::vector<double> tp(labels, 0), fp(labels, 0), fn(labels, 0);
  for (size_t i = 0; i < golds.size(); ++i) {
    const int g = LabelIndex(task, golds[i]), a = LabelIndex(task, answers[i]);
    PRLM_REQUIRE(g >= 0, task.name << ": gold output '" << golds[i] << "' (example " << i
                                   << ") is not one of the task's labels");
    if (a == g) {
      ++tp[g];
    } else {
      ++fn[g];
      if (a >= 0) ++fp[a];
    }
  }
  double f1_sum = 0;
  for (size_t l = 0; l < labels; ++l) {
    const double p = tp[l] + fp[l] > 0 ? tp[l] / (tp[l] + fp[l]) : 0;
    const double r = tp[l] + fn[l] > 0 ? tp[l] / (tp[l] + fn[l]) : 0;
    f1_sum += p + r > 0 ? 2 * p * r / (p + r) : 0;
  }
  return f1_sum / static_cast<double>(labels);
}

std::vector<QuestionMetric> PerQuestionMetrics(const TaskSpec& task, const std::vector<std::string>& golds,
                                               const std::vector<std::string>& answers) {
  PRLM_REQUIRE(golds.size() == answers.size(),
               "task metrics: " << golds.size() << " golds but " << answers.size() << " answers");
  switch (task.metric) {
    case TaskMetric::kClassification: {
      QuestionMetric accuracy{"accuracy", util::Statistic::kMean, {}};
      for (size_t i = 0; i < golds.size(); ++i) {
        const int g = LabelIndex(task, golds[i]);
        PRLM_REQUIRE(g >= 0, task.name << ": gold output '" << golds[i] << "' (example " << i
                                       << ") is not one of the task's labels");
        accuracy.values.push_back(LabelIndex(task, answers[i]) == g ? 1.0 : 0.0);
      }
      return {accuracy};
    }
    case TaskMetric::kRating: {
      QuestionMetric mae{"mae", util::Statistic::kMean, {}}, rmse{"rmse", util::Statistic::kRootMean, {}};
      for (size_t i = 0; i < golds.size(); ++i) {
        double gold = 0;
        PRLM_REQUIRE(ParsePythonFloat(golds[i], &gold),
                     task.name << ": gold output '" << golds[i] << "' (example " << i << ") is not a number");
        const double d = RatingOf(answers[i], gold) - gold;
        mae.values.push_back(std::abs(d));
        rmse.values.push_back(d * d);
      }
      return {mae, rmse};
    }
    case TaskMetric::kGeneration: {
      const bool with_meteor = task.benchmark == Benchmark::kLongLamp;
      std::vector<QuestionMetric> out = {{"rouge1", util::Statistic::kMean, {}},
                                         {"rougeL", util::Statistic::kMean, {}},
                                         {"rouge2", util::Statistic::kMean, {}}};
      if (with_meteor) out.push_back({"meteor", util::Statistic::kMean, {}});
      for (size_t i = 0; i < golds.size(); ++i) {
        const auto r = text::Rouge(golds[i], answers[i]);
        out[0].values.push_back(r.rouge1.f);
        out[1].values.push_back(r.rougeL.f);
        out[2].values.push_back(r.rouge2.f);
        if (with_meteor) out[3].values.push_back(text::Meteor(golds[i], answers[i]));
      }
      return out;
    }
  }
  return {};
}

double Aggregate(const QuestionMetric& metric) {
  if (metric.values.empty()) return 0;
  double sum = 0;
  for (double v : metric.values) sum += v;
  const double mean = sum / static_cast<double>(metric.values.size());
  return metric.statistic == util::Statistic::kRootMean ? std::sqrt(mean) : mean;
}

MetricValues TaskMetrics(const TaskSpec& task, const std::vector<std::string>& golds,
                         const std::vector<std::string>& answers) {
  const auto per_question = PerQuestionMetrics(task, golds, answers);
  MetricValues out;
  for (const std::string& name : TaskMetricNames(task)) {
    if (name == "f1") {
      out.emplace_back(name, MacroF1(task, golds, answers));
      continue;
    }
    for (const auto& m : per_question)
      if (m.name == name) out.emplace_back(name, Aggregate(m));
  }
  return out;
}

double AnswerScore(const TaskSpec& task, const std::string& gold, const std::string& answer) {
  switch (task.metric) {
    case TaskMetric::kClassification:
      return LabelIndex(task, answer) >= 0 && Stripped(answer) == Stripped(gold) ? 1.0 : 0.0;
    case TaskMetric::kRating: {
      double g = 0;
      if (!ParsePythonFloat(gold, &g)) return 0.0;
      return std::clamp(1.0 - std::abs(RatingOf(answer, g) - g) / 4.0, 0.0, 1.0);
    }
    case TaskMetric::kGeneration: {
      const auto r = text::Rouge(gold, answer);
      return r.rouge1.f + r.rouge2.f + r.rougeL.f;
    }
  }
  return 0.0;
}

}  // namespace prlm::data
