#include "pipeline/evaluation.h"

#include <algorithm>
#include <chrono>
#include <map>
#include <cstdio>

#include "common/data/prompt_templates.h"
#include "common/data/task_metrics.h"
#include "common/rollout/answer_questions.h"
#include "common/text/answer.h"
#include "common/text/metrics.h"
#include "common/util/check.h"
#include "common/util/clock.h"
#include "common/util/file.h"
#include "common/util/paired_bootstrap.h"
#include "pipeline/retriever_selection.h"

namespace prlm::pipeline {

namespace {

using Json = nlohmann::ordered_json;

// Every completion, its answer and the gold output, as JSON lines.
void WriteCompletions(const std::string& path, const data::Dataset& dataset, const std::string& retriever, int k,
                      const std::vector<rollout::Answer>& answers, const std::vector<std::string>& hypotheses) {
  std::string lines;
  for (size_t i = 0; i < dataset.examples.size(); ++i) {
    Json j;
    j["id"] = dataset.examples[i].id;
    j["user_id"] = dataset.examples[i].user_id;
    j["retriever"] = retriever;
    j["k"] = k;
    j["completion"] = answers[i].texts.empty() ? "" : answers[i].texts[0];
    j["answer"] = hypotheses[i];
    if (dataset.examples[i].output) j["gold"] = *dataset.examples[i].output;
    if (!answers[i].error.empty()) j["error"] = answers[i].error;
    lines += j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  }
  WriteFileAtomic(path, lines);
}

// The task's metrics of the scored questions' answers into `row` (then, for
// generation, ROUGE-2 and corpus BLEU), each question's values appended to
// *per_question for paired comparisons.
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

// {"id": [...], "metrics": {name: {"statistic", "values"}}}: what CompareRows pairs.
Json PerQuestionJson(const std::vector<std::string>& ids, const std::vector<data::QuestionMetric>& per_question) {
  Json values = Json::object();
  for (const auto& m : per_question)
    values[m.name] = {{"statistic", m.statistic == Statistic::kRootMean ? "root_mean" : "mean"}, {"values", m.values}};
  return {{"id", ids}, {"metrics", values}};
}

}  // namespace

void WritePredictions(const std::string& path, const data::Dataset& dataset, const std::vector<std::string>& answers) {
  PRLM_CHECK(answers.size() == dataset.examples.size());
  Json golds = Json::array();
  for (size_t i = 0; i < dataset.examples.size(); ++i)
    golds.push_back({{"id", dataset.examples[i].id}, {"output", answers[i]}});
  // LaMP names both LaMP-2 variants LaMP_2.
  const std::string task = dataset.task->name == "LaMP_2N" ? "LaMP_2" : dataset.task->name;
  WriteFileAtomic(path, Json{{"task", task}, {"golds", golds}}.dump(1, ' ', false, Json::error_handler_t::replace) + "\n");
}

Json ScoreAnswers(const data::Dataset& dataset, const std::string& answers_path, const std::string& name,
                  const std::string& split) {
  const auto t0 = Clock::now();
  // 1. The file: LaMP's predictions format, every id once.
  Json file;
  try {
    file = Json::parse(ReadFile(answers_path));
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW(answers_path << ": not JSON: " << e.what());
  }
  PRLM_REQUIRE(file.is_object() && file.contains("golds") && file["golds"].is_array(),
               answers_path << ": expected LaMP's predictions format {\"task\": ..., \"golds\": [{\"id\", \"output\"}]}");
  std::map<std::string, std::string> answers;
  for (size_t i = 0; i < file["golds"].size(); ++i) {
    const Json& g = file["golds"][i];
    PRLM_REQUIRE(g.is_object() && g.contains("id") && g["id"].is_string() && g.contains("output") &&
                     g["output"].is_string(),
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
  row["seconds"] = Seconds(t0);
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

Json Evaluate(model::Qwen2ForCausalLM& policy, const text::Tokenizer& tokenizer, retrieval::ProfileRetriever* retriever,
              const data::Dataset& dataset, reward::RewardScorer& scorer, const EvalOptions& o) {
  // Every question is answered; those with a gold output are scored (LaMP
  // hides the test split's golds: those only get predictions).
  std::vector<rollout::Question> questions;
  std::vector<size_t> scored;
  for (size_t i = 0; i < dataset.examples.size(); ++i) {
    const auto& ex = dataset.examples[i];
    questions.push_back({ex.user_id, ex.query, ex.input, ex.output.value_or(""),
                         {model::SampleSeed(o.seed, questions.size(), 0)}});
    if (ex.output) scored.push_back(i);
  }
  PRLM_REQUIRE(!questions.empty(), dataset.source << ": no questions to evaluate");
  PRLM_REQUIRE(!scored.empty() || !o.predictions_path.empty(),
               dataset.source << ": no question has a gold output; give a predictions file to write");
  std::vector<std::pair<std::string, int>> sweep;
  if (o.zero_shot) sweep.push_back({"none", 0});
  else
    for (const auto& r : o.retrievers)
      for (int k : o.ks) sweep.push_back({r, k});
  Json rows = Json::array();
  for (const auto& [retriever_name, k] : sweep) {
    const auto t0 = Clock::now();
    // 1. Answers (greedy unless --sampling model) through the training job's path.
    rollout::AnswerOptions ao;
    ao.prompts.retriever = retriever_name;
    ao.prompts.k = std::max(k, 1);
    ao.prompts.prompt.max_prompt_tokens = o.max_prompt_tokens;
    ao.prompts.prompt.open_think = o.open_think;
    ao.prompts.prompt.chat = o.chat;
    ao.prompts.prompt.with_profile = !o.zero_shot;
    ao.sampling = o.sampling;
    ao.batch_size = o.batch_size;
    //    rspg-pre / rspg-post: a trained selector picks the retriever per question.
    const text::PromptTemplate& tmpl = data::PromptTemplateFor(dataset.task->name);
    std::vector<std::string> chosen;
    const auto selection = o.selections.find(retriever_name);
    const auto answers =
        selection != o.selections.end()
            ? selection->second->Answer(policy, tokenizer, tmpl, *dataset.task, questions, ao, &chosen)
            : rollout::AnswerQuestions(policy, tokenizer, retriever, tmpl, questions, ao, nullptr,
                                       [&](size_t done, size_t asked) {
                                         std::fprintf(stderr, "eval %s %s k=%d: %zu/%zu questions\n", o.name.c_str(),
                                                      retriever_name.c_str(), k, done, asked);
                                       });
    size_t skipped = 0;
    std::vector<std::string> hypotheses;
    for (size_t i = 0; i < questions.size(); ++i) {
      if (!answers[i].error.empty()) ++skipped;
      hypotheses.push_back(text::ExtractAnswer(answers[i].texts.empty() ? "" : answers[i].texts[0]).answer);
    }
    if (!o.completions_path.empty())
      WriteCompletions(o.completions_path, dataset, retriever_name, k, answers, hypotheses);
    if (!o.predictions_path.empty())
      WritePredictions(PredictionsPath(o.predictions_path, retriever_name, k, sweep.size()), dataset, hypotheses);
    // 2. Scores of the answers with a gold (a question that could not be asked scores 0).
    std::vector<double> format_of, reward_of;  // per scored question
    std::vector<std::string> scored_hypotheses, references;
    std::vector<rollout::Question> scored_questions;
    std::vector<rollout::Answer> scored_answers;
    for (size_t i : scored) {
      const std::string completion = answers[i].texts.empty() ? "" : answers[i].texts[0];
      scored_hypotheses.push_back(hypotheses[i]);
      references.push_back(questions[i].gold);
      if (!o.scorer_has_format) format_of.push_back(text::HasReasoningFormat(completion) ? 1 : 0);
      scored_questions.push_back(questions[i]);
      scored_answers.push_back(answers[i]);
    }
    if (!scored.empty()) {
      const auto reply =
          scorer.ScoreNow(rollout::ScoreRequestFor(dataset.task->name, scored_questions, scored_answers, /*include_unasked=*/true));
      PRLM_REQUIRE(reply.status() == proto::ScoreReply::OK, "eval: scoring failed: " << reply.error());
      for (const auto& s : reply.items()) {
        reward_of.push_back(s.reward());
        for (const auto& c : s.components())
          if (o.scorer_has_format && c.name() == "format") format_of.push_back(c.value());
      }
      PRLM_CHECK(format_of.size() == scored.size() && reward_of.size() == scored.size());
    }
    // 3. The row (figures null when nothing could be scored), with each
    //    question's values for paired comparisons (CompareRows).
    const auto figure = [&](double v) { return scored.empty() ? Json(nullptr) : Json(v); };
    Json row;
    row["name"] = o.name;
    row["model"] = o.model_dir;
    row["split"] = o.split;
    row["retriever"] = retriever_name;
    row["k"] = o.zero_shot ? Json(nullptr) : Json(k);
    row["n"] = scored.size();
    row["predicted"] = questions.size();
    row["skipped"] = skipped;
    row["task"] = dataset.task->name;
    // The task's own metrics (LaMP's / LongLaMP's), then for generation
    // ROUGE-2 and corpus BLEU beside them, then format and reward.
    std::vector<data::QuestionMetric> per_question;
    AddTaskFigures(*dataset.task, references, scored_hypotheses, &row, &per_question);
    per_question.push_back({"format", Statistic::kMean, format_of});
    per_question.push_back({"reward", Statistic::kMean, reward_of});
    row["format"] = figure(data::Aggregate(per_question[per_question.size() - 2]));
    row["reward"] = figure(data::Aggregate(per_question.back()));
    if (!chosen.empty()) {  // how often the selector picked each retriever
      Json counts = Json::object();
      for (const auto& name : selection->second->selector().candidates()) counts[name] = 0;
      for (const auto& name : chosen) counts[name] = counts[name].get<int>() + 1;
      row["selected"] = counts;
      std::fprintf(stderr, "eval %s %s k=%d: the selector picked %s\n", o.name.c_str(), retriever_name.c_str(), k,
                   counts.dump().c_str());
    }
    row["seconds"] = Seconds(t0);
    std::vector<std::string> ids;
    for (size_t i : scored) ids.push_back(dataset.examples[i].id);
    row["per_question"] = PerQuestionJson(ids, per_question);
    rows.push_back(row);
  }
  return rows;
}

std::string RowLabel(const Json& row) {
  std::string label = row.value("name", std::string("?")) + " (" + row.value("retriever", std::string("?"));
  if (row.contains("k") && row["k"].is_number()) label += ", k=" + std::to_string(row["k"].get<int>());
  return label + ")";
}

Json CompareRows(const Json& baseline, const Json& row, int resamples) {
  const auto has_values = [](const Json& r) { return r.contains("per_question") && r["per_question"].is_object(); };
  PRLM_REQUIRE(has_values(baseline), "cannot compare against " << RowLabel(baseline)
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
  PRLM_REQUIRE(!pairs.empty(), RowLabel(row) << " and " << RowLabel(baseline)
                                             << " share no question: compare rows of the same split");
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
    const Statistic statistic = mine["statistic"] == "root_mean" ? Statistic::kRootMean : Statistic::kMean;
    const BootstrapInterval interval = PairedBootstrap(a, b, statistic, resamples);
    metrics[name] = {{"difference", interval.difference}, {"low", interval.low}, {"high", interval.high}};
    level = interval.level;
  }
  return Json{{"against", RowLabel(baseline)}, {"n", pairs.size()}, {"resamples", resamples},
              {"level", level}, {"method", "paired bootstrap over questions, percentile interval"},
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
    PRLM_REQUIRE(baseline != nullptr, "--compare " << compare << ": no row "
                                                   << (compare == "above" ? "" : "of that name ") << "above "
                                                   << RowLabel((*rows)[i])
                                                   << (compare == "above" ? " (append to an --out file that has rows)" : ""));
    (*rows)[i]["compare"] = CompareRows(*baseline, (*rows)[i], resamples);
  }
}

std::string EvalMarkdownTable(const Json& rows) {
  // Columns: every metric some row has, in this order.
  static const std::pair<const char*, const char*> kColumns[] = {
      {"accuracy", "accuracy"}, {"f1", "F1"},          {"mae", "MAE"},      {"rmse", "RMSE"},
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
        std::snprintf(buf, sizeof buf, std::string(key) == "bleu" ? "%.2f" : std::string(key) == "format" ? "%.3f" : "%.4f",
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
    out += "\nDifferences (row minus the row it is compared with; paired bootstrap 95% interval over the shared "
           "questions):\n\n| model | against | n |";
    std::string difference_rule = "|---|---|---|";
    for (const auto& [key, title] : shown) out += std::string(" ") + title + " |", difference_rule += "---|";
    out += "\n" + difference_rule + "\n" + differences;
  }
  return out;
}

}  // namespace prlm::pipeline
