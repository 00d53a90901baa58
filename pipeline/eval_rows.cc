#include "pipeline/eval_rows.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>

#include "common/data/task_metrics.h"
#include "common/text/metrics.h"
#include "common/util/check.h"
#include "common/util/clock.h"
#include "common/util/file.h"
#include "common/util/paired_bootstrap.h"

namespace prlm::pipeline {

using Json = nlohmann::ordered_json;

void AddTaskFigures(const data::TaskSpec& task, const std::vector<std::string>& references,
                    const std::vector<std::string>& hypotheses, Json* row,
                    std::vector<data::QuestionMetric>* per_question) {
  const std::vector<data::QuestionMetric> task_values = data::PerQuestionMetrics(task, references, hypotheses);
  per_question->insert(per_question->end(), task_values.begin(), task_values.end());
  const auto figure = [&](double v) { return references.empty() ? Json(nullptr) : Json(v); };
  const auto value_of = [&](const std::string& name) {
    for (const auto& m : task_values)
      if (m.name == name) return data::Aggregate(m);
    PRLM_CHECK_MSG(name == "f1", "no per-question values of " << name);
    return data::MacroF1(task, references, hypotheses);
  };
  for (const std::string& metric : data::TaskMetricNames(task)) (*row)[metric] = figure(value_of(metric));
  if (task.metric == data::TaskMetric::kGeneration) {
    (*row)["rouge2"] = figure(value_of("rouge2"));
    std::vector<std::vector<std::string>> corpus_references{references};
    (*row)["bleu"] = figure(references.empty() ? 0 : text::CorpusBleu(hypotheses, corpus_references).score);
  }
}

Json PerQuestionJson(const std::vector<std::string>& ids, const std::vector<data::QuestionMetric>& per_question) {
  Json values = Json::object();
  for (const auto& m : per_question)
    values[m.name] = {{"statistic", m.statistic == util::Statistic::kRootMean ? "root_mean" : "mean"},
                      {"values", m.values}};
  return {{"id", ids}, {"metrics", values}};
}

void WritePredictions(const std::string& path, const data::Dataset& dataset, const std::vector<std::string>& answers) {
  PRLM_CHECK(answers.size() == dataset.examples.size());
  Json golds = Json::array();
  for (size_t i = 0; i < dataset.examples.size(); ++i)
    golds.push_back({{"id", dataset.examples[i].id}, {"output", answers[i]}});
  // LaMP names both LaMP-2 variants LaMP_2.
  const std::string task = dataset.task->name == "LaMP_2N" ? "LaMP_2" : dataset.task->name;
  util::WriteFileAtomic(
      path, Json{{"task", task}, {"golds", golds}}.dump(1, ' ', false, Json::error_handler_t::replace) + "\n");
}

Json ScoreAnswers(const data::Dataset& dataset, const std::string& answers_path, const std::string& name,
                  const std::string& split) {
  const auto t0 = util::Clock::now();
  // 1. The file: LaMP's predictions format, every id once.
  Json file;
  try {
    file = Json::parse(util::ReadFile(answers_path));
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW(answers_path << ": not JSON: " << e.what());
  }
  PRLM_REQUIRE(
      file.is_object() && file.contains("golds") && file["golds"].is_array(),
      answers_path << ": expected LaMP's predictions format {\"task\": ..., \"golds\": [{\"id\", \"output\"}]}");
  std::map<std::string, std::string> answers;
  for (size_t i = 0; i < file["golds"].size(); ++i) {
    const Json& g = file["golds"][i];
    PRLM_REQUIRE(
        g.is_object() && g.contains("id") && g["id"].is_string() && g.contains("output") && g["output"].is_string(),
        answers_path << ": golds[" << i << "] needs a string \"id\" and a string \"output\"");
    PRLM_REQUIRE(answers.emplace(g["id"].get<std::string>(), g["output"].get<std::string>()).second,
                 answers_path << ": golds[" << i << "]: id " << g["id"].get<std::string>() << " appears twice");
  }
  // 2. Every question with a gold output must have an answer.
  std::vector<std::string> ids, references, hypotheses;
  for (const auto& ex : dataset.examples) {
    if (!ex.output) continue;
    const auto a = answers.find(ex.id);
    PRLM_REQUIRE(a != answers.end(), answers_path << ": no answer for question " << ex.id << " of " << dataset.source);
    ids.push_back(ex.id);
    references.push_back(*ex.output);
    hypotheses.push_back(a->second);
  }
  PRLM_REQUIRE(!ids.empty(), dataset.source << ": no question has a gold output to score the answers against");
  // 3. The row: the task's figures; no completion, so no format or reward.
  Json row;
  row["name"] = name;
  row["model"] = answers_path;
  row["split"] = split;
  row["retriever"] = "answers";
  row["k"] = nullptr;
  row["n"] = ids.size();
  row["predicted"] = ids.size();
  row["skipped"] = 0;
  row["task"] = dataset.task->name;
  std::vector<data::QuestionMetric> per_question;
  AddTaskFigures(*dataset.task, references, hypotheses, &row, &per_question);
  row["seconds"] = util::Seconds(t0);
  row["per_question"] = PerQuestionJson(ids, per_question);
  return row;
}

std::string PredictionsPath(const std::string& path, const std::string& retriever, int k, size_t sweep_size) {
  if (sweep_size <= 1) return path;
  const size_t dot = path.rfind('.');
  const size_t slash = path.rfind('/');
  const bool has_ext = dot != std::string::npos && (slash == std::string::npos || dot > slash);
  const std::string tag = "-" + retriever + (k > 0 ? "-k" + std::to_string(k) : "");
  return has_ext ? path.substr(0, dot) + tag + path.substr(dot) : path + tag;
}

std::string RowLabel(const Json& row) {
  std::string label = row.value("name", std::string("?")) + " (" + row.value("retriever", std::string("?"));
  if (row.contains("k") && row["k"].is_number()) label += ", k=" + std::to_string(row["k"].get<int>());
  return label + ")";
}

Json CompareRows(const Json& baseline, const Json& row, int resamples) {
  const auto has_values = [](const Json& r) { return r.contains("per_question") && r["per_question"].is_object(); };
  PRLM_REQUIRE(has_values(baseline), "cannot compare against "
                                         << RowLabel(baseline)
                                         << ": it has no per-question values (written by an older prlm eval?)");
  PRLM_CHECK(has_values(row));
  // 1. Pair the questions by id.
  const Json& base_ids = baseline["per_question"]["id"];
  const Json& ids = row["per_question"]["id"];
  std::map<std::string, size_t> base_index;
  for (size_t i = 0; i < base_ids.size(); ++i) base_index[base_ids[i].get<std::string>()] = i;
  std::vector<std::pair<size_t, size_t>> pairs;  // (baseline index, row index)
  for (size_t i = 0; i < ids.size(); ++i) {
    const auto it = base_index.find(ids[i].get<std::string>());
    if (it != base_index.end()) pairs.push_back({it->second, i});
  }
  PRLM_REQUIRE(!pairs.empty(),
               RowLabel(row) << " and " << RowLabel(baseline) << " share no question: compare rows of the same split");
  // 2. Every metric both rows have per question.
  Json metrics = Json::object();
  double level = 0;
  for (const auto& [name, mine] : row["per_question"]["metrics"].items()) {
    const Json& theirs = baseline["per_question"]["metrics"].value(name, Json());
    if (theirs.is_null()) continue;
    std::vector<double> a, b;
    for (const auto& [bi, ri] : pairs) {
      a.push_back(theirs["values"][bi].get<double>());
      b.push_back(mine["values"][ri].get<double>());
    }
    const util::Statistic statistic =
        mine["statistic"] == "root_mean" ? util::Statistic::kRootMean : util::Statistic::kMean;
    const util::BootstrapInterval interval = util::PairedBootstrap(a, b, statistic, resamples);
    metrics[name] = {{"difference", interval.difference}, {"low", interval.low}, {"high", interval.high}};
    level = interval.level;
  }
  return Json{{"against", RowLabel(baseline)},
              {"n", pairs.size()},
              {"resamples", resamples},
              {"level", level},
              {"method", "paired bootstrap over questions, percentile interval"},
              {"metrics", metrics}};
}

const Json* BaselineRow(const Json& rows, size_t i, const std::string& compare) {
  if (compare == "above") return i > 0 ? &rows[i - 1] : nullptr;
  for (size_t j = std::min(i, rows.size()); j-- > 0;)
    if (rows[j].value("name", std::string()) == compare) return &rows[j];
  return nullptr;
}

void AddComparisons(Json* rows, size_t first_new, const std::string& compare, int resamples) {
  if (compare.empty() || compare == "none") return;
  for (size_t i = first_new; i < rows->size(); ++i) {
    const Json* baseline = BaselineRow(*rows, i, compare);
    PRLM_REQUIRE(baseline != nullptr, "--compare "
                                          << compare << ": no row " << (compare == "above" ? "" : "of that name ")
                                          << "above " << RowLabel((*rows)[i])
                                          << (compare == "above" ? " (append to an --out file that has rows)" : ""));
    (*rows)[i]["compare"] = CompareRows(*baseline, (*rows)[i], resamples);
  }
}

std::string EvalMarkdownTable(const Json& rows) {
  // Columns: every metric some row has, in this order.
  static const std::pair<const char*, const char*> kColumns[] = {
      {"accuracy", "accuracy"}, {"f1", "F1"},          {"mae", "MAE"},        {"rmse", "RMSE"},
      {"rouge1", "ROUGE-1"},    {"rouge2", "ROUGE-2"}, {"rougeL", "ROUGE-L"}, {"meteor", "METEOR"},
      {"bleu", "BLEU"},         {"format", "format"},  {"reward", "reward"}};
  std::vector<std::pair<const char*, const char*>> shown;
  for (const auto& column : kColumns)
    if (std::any_of(rows.begin(), rows.end(), [&](const Json& r) { return r.contains(column.first); }))
      shown.push_back(column);
  std::string out = "| model | retriever | k | n |", rule = "|---|---|---|---|";
  for (const auto& [key, title] : shown) out += std::string(" ") + title + " |", rule += "---|";
  out += "\n" + rule + "\n";
  for (const auto& r : rows) {
    out += "| " + r["name"].get<std::string>() + " | " + r["retriever"].get<std::string>() + " | " +
           (r["k"].is_null() ? "-" : std::to_string(r["k"].get<int>())) + " | " +
           std::to_string(r["n"].get<int64_t>()) + " |";
    for (const auto& [key, title] : shown) {
      const Json v = r.value(key, Json());
      char buf[32] = "-";
      if (v.is_number())
        std::snprintf(buf, sizeof buf,
                      std::string(key) == "bleu"     ? "%.2f"
                      : std::string(key) == "format" ? "%.3f"
                                                     : "%.4f",
                      v.get<double>());
      out += std::string(" ") + buf + " |";
    }
    out += "\n";
  }
  // The differences, when some row was compared with another.
  std::string differences;
  for (const auto& r : rows) {
    if (!r.contains("compare")) continue;
    const Json& c = r["compare"];
    differences += "| " + RowLabel(r) + " | " + c["against"].get<std::string>() + " | " +
                   std::to_string(c["n"].get<int64_t>()) + " |";
    for (const auto& [key, title] : shown) {
      const Json m = c["metrics"].value(key, Json());
      char buf[64] = "-";
      if (m.is_object())
        std::snprintf(buf, sizeof buf, "%+.4f [%+.4f, %+.4f]", m["difference"].get<double>(), m["low"].get<double>(),
                      m["high"].get<double>());
      differences += std::string(" ") + buf + " |";
    }
    differences += "\n";
  }
  if (!differences.empty()) {
    out +=
        "\nDifferences (row minus the row it is compared with; paired bootstrap 95% interval over the shared "
        "questions):\n\n| model | against | n |";
    std::string difference_rule = "|---|---|---|";
    for (const auto& [key, title] : shown) out += std::string(" ") + title + " |", difference_rule += "---|";
    out += "\n" + difference_rule + "\n" + differences;
  }
  return out;
}

nlohmann::ordered_json StartingRows(const std::string& out_path, bool append, const std::string& compare) {
  nlohmann::ordered_json rows = nlohmann::ordered_json::array();
  if (append && !out_path.empty() && std::filesystem::exists(out_path)) {
    try {
      rows = nlohmann::ordered_json::parse(util::ReadFile(out_path));
    } catch (const nlohmann::json::exception& e) {
      PRLM_THROW(out_path << ": cannot append to it: " << e.what());
    }
    PRLM_REQUIRE(rows.is_array(), out_path << ": cannot append to it: not a JSON array of rows");
  }
  PRLM_REQUIRE(compare == "none" || BaselineRow(rows, rows.size(), compare) != nullptr,
               "--compare " << compare << ": " << (out_path.empty() ? "no --out file" : "no row in " + out_path)
                            << (compare == "above" ? " to compare with (use --append with an --out that has rows)"
                                                   : " has that name"));
  return rows;
}

}  // namespace prlm::pipeline
