#include "pipeline/evaluation.h"

#include <algorithm>
#include <chrono>
#include <cstdio>

#include "common/data/prompt_templates.h"
#include "common/data/task_metrics.h"
#include "common/rollout/answer_questions.h"
#include "common/text/answer.h"
#include "common/text/metrics.h"
#include "common/util/check.h"
#include "common/util/clock.h"
#include "common/util/file.h"

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

// LaMP's leaderboard format: {"task": ..., "golds": [{"id", "output"}]}.
void WritePredictions(const std::string& path, const data::Dataset& dataset, const std::vector<std::string>& answers) {
  Json golds = Json::array();
  for (size_t i = 0; i < dataset.examples.size(); ++i)
    golds.push_back({{"id", dataset.examples[i].id}, {"output", answers[i]}});
  // LaMP names both LaMP-2 variants LaMP_2.
  const std::string task = dataset.task->name == "LaMP_2N" ? "LaMP_2" : dataset.task->name;
  WriteFileAtomic(path, Json{{"task", task}, {"golds", golds}}.dump(1, ' ', false, Json::error_handler_t::replace) + "\n");
}

}  // namespace

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
    questions.push_back({ex.user_id, ex.query, ex.input, ex.output.value_or(""), {0}});
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
    // 1. Greedy answers through the training job's path.
    rollout::AnswerOptions ao;
    ao.prompts.retriever = retriever_name;
    ao.prompts.k = std::max(k, 1);
    ao.prompts.prompt.max_prompt_tokens = o.max_prompt_tokens;
    ao.prompts.prompt.open_think = o.open_think;
    ao.prompts.prompt.with_profile = !o.zero_shot;
    ao.sampling = o.sampling;
    ao.batch_size = o.batch_size;
    const auto answers = rollout::AnswerQuestions(
        policy, tokenizer, retriever, data::PromptTemplateFor(dataset.task->name), questions, ao, nullptr,
        [&](size_t done, size_t asked) {
          std::fprintf(stderr, "eval %s %s k=%d: %zu/%zu questions\n", o.name.c_str(), retriever_name.c_str(), k,
                       done, asked);
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
    double fmt = 0, reward = 0;
    std::vector<std::string> scored_hypotheses;
    std::vector<std::vector<std::string>> references(1);
    std::vector<rollout::Question> scored_questions;
    std::vector<rollout::Answer> scored_answers;
    for (size_t i : scored) {
      const std::string completion = answers[i].texts.empty() ? "" : answers[i].texts[0];
      scored_hypotheses.push_back(hypotheses[i]);
      references[0].push_back(questions[i].gold);
      if (!o.scorer_has_format) fmt += text::HasReasoningFormat(completion) ? 1 : 0;
      scored_questions.push_back(questions[i]);
      scored_answers.push_back(answers[i]);
    }
    if (!scored.empty()) {
      const auto reply =
          scorer.ScoreNow(rollout::ScoreRequestFor(dataset.task->name, scored_questions, scored_answers, /*include_unasked=*/true));
      PRLM_REQUIRE(reply.status() == proto::ScoreReply::OK, "eval: scoring failed: " << reply.error());
      for (const auto& s : reply.items()) {
        reward += s.reward();
        for (const auto& c : s.components())
          if (o.scorer_has_format && c.name() == "format") fmt += c.value();
      }
    }
    // 3. The row (figures null when nothing could be scored).
    const double n = static_cast<double>(std::max<size_t>(1, scored.size()));
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
    // ROUGE-2 and corpus BLEU beside them.
    for (const auto& [metric, value] : data::TaskMetrics(*dataset.task, references[0], scored_hypotheses))
      row[metric] = figure(value);
    if (dataset.task->metric == data::TaskMetric::kGeneration) {
      double r2 = 0;
      for (size_t i = 0; i < scored_hypotheses.size(); ++i)
        r2 += text::Rouge(references[0][i], scored_hypotheses[i]).rouge2.f;
      row["rouge2"] = figure(r2 / n);
      row["bleu"] = figure(scored.empty() ? 0 : text::CorpusBleu(scored_hypotheses, references).score);
    }
    row["format"] = figure(fmt / n);
    row["reward"] = figure(reward / n);
    row["seconds"] = Seconds(t0);
    rows.push_back(row);
  }
  return rows;
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
  return out;
}

}  // namespace prlm::pipeline
