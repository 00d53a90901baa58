#include "pipeline/evaluation.h"

#include <algorithm>
#include <cstdio>
#include <filesystem>

#include "common/data/prompt_templates.h"
#include "common/data/task_metrics.h"
#include "common/rollout/answer_questions.h"
#include "common/text/answer.h"
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
  util::WriteFileAtomic(path, lines);
}

}  // namespace

namespace {

rollout::AnswerOptions AnswerOptionsFor(const EvalOptions& o, const std::string& retriever, int k) {
  rollout::AnswerOptions ao;
  ao.prompts.retriever = retriever;
  ao.prompts.k = std::max(k, 1);
  ao.prompts.prompt.max_prompt_tokens = o.max_prompt_tokens;
  ao.prompts.prompt.open_think = o.open_think;
  ao.prompts.prompt.chat = o.chat;
  ao.prompts.prompt.with_profile = !o.zero_shot;
  ao.sampling = o.sampling;
  ao.batch_size = o.batch_size;
  return ao;
}

// The questions with a gold output (`scored`), their answers against the
// golds: format (the scorer's, or counted here) and reward per question.
struct GoldScores {
  std::vector<std::string> hypotheses, references;
  std::vector<double> format, reward;
};

GoldScores ScoreAgainstGolds(reward_server::RewardScorer& scorer, const std::string& task,
                             const std::vector<rollout::Question>& questions,
                             const std::vector<rollout::Answer>& answers, const std::vector<std::string>& hypotheses,
                             const std::vector<size_t>& scored, bool scorer_has_format) {
  GoldScores g;
  std::vector<rollout::Question> scored_questions;
  std::vector<rollout::Answer> scored_answers;
  for (size_t i : scored) {
    g.hypotheses.push_back(hypotheses[i]);
    g.references.push_back(questions[i].gold);
    if (!scorer_has_format)
      g.format.push_back(text::HasReasoningFormat(answers[i].texts.empty() ? "" : answers[i].texts[0]) ? 1 : 0);
    scored_questions.push_back(questions[i]);
    scored_answers.push_back(answers[i]);
  }
  if (scored.empty()) return g;
  // A question that could not be asked scores 0.
  const auto reply =
      scorer.ScoreNow(rollout::ScoreRequestFor(task, scored_questions, scored_answers, /*include_unasked=*/true));
  PRLM_REQUIRE(reply.status() == proto::ScoreReply::OK, "eval: scoring failed: " << reply.error());
  for (const auto& s : reply.items()) {
    g.reward.push_back(s.reward());
    for (const auto& c : s.components())
      if (scorer_has_format && c.name() == "format") g.format.push_back(c.value());
  }
  PRLM_CHECK(g.format.size() == scored.size() && g.reward.size() == scored.size());
  return g;
}

// A sweep entry's row (figures null when nothing could be scored), with how
// often a selector picked each retriever (`selected`, when not null), the
// seconds since `start`, and each question's values for paired comparisons
// (CompareRows).
Json SweepRow(const EvalOptions& o, const data::Dataset& dataset, const std::string& retriever, int k, size_t skipped,
              const std::vector<size_t>& scored, GoldScores g, const Json& selected, util::Clock::time_point start) {
  const auto figure = [&](double v) { return scored.empty() ? Json(nullptr) : Json(v); };
  Json row;
  row["name"] = o.name;
  row["model"] = o.model_dir;
  row["split"] = o.split;
  row["retriever"] = retriever;
  row["k"] = o.zero_shot ? Json(nullptr) : Json(k);
  row["n"] = scored.size();
  row["predicted"] = dataset.examples.size();
  row["skipped"] = skipped;
  row["task"] = dataset.task->name;
  // The task's own metrics (LaMP's / LongLaMP's), then for generation
  // ROUGE-2 and corpus BLEU beside them, then format and reward.
  std::vector<data::QuestionMetric> per_question;
  AddTaskFigures(*dataset.task, g.references, g.hypotheses, &row, &per_question);
  per_question.push_back({"format", util::Statistic::kMean, std::move(g.format)});
  per_question.push_back({"reward", util::Statistic::kMean, std::move(g.reward)});
  row["format"] = figure(data::Aggregate(per_question[per_question.size() - 2]));
  row["reward"] = figure(data::Aggregate(per_question.back()));
  if (!selected.is_null()) row["selected"] = selected;
  row["seconds"] = util::Seconds(start);
  std::vector<std::string> ids;
  for (size_t i : scored) ids.push_back(dataset.examples[i].id);
  row["per_question"] = PerQuestionJson(ids, per_question);
  return row;
}

}  // namespace

Json Evaluate(model::CausalLM& policy, const text::Tokenizer& tokenizer, retrieval::ProfileRetriever* retriever,
              const data::Dataset& dataset, reward_server::RewardScorer& scorer, const EvalOptions& o) {
  // Every question is answered; those with a gold output are scored (LaMP
  // hides the test split's golds: those only get predictions).
  std::vector<rollout::Question> questions;
  std::vector<size_t> scored;
  for (size_t i = 0; i < dataset.examples.size(); ++i) {
    const auto& ex = dataset.examples[i];
    questions.push_back(
        {ex.user_id, ex.query, ex.input, ex.output.value_or(""), {generation::SampleSeed(o.seed, questions.size(), 0)}});
    if (ex.output) scored.push_back(i);
  }
  PRLM_REQUIRE(!questions.empty(), dataset.source << ": no questions to evaluate");
  PRLM_REQUIRE(!scored.empty() || !o.predictions_path.empty(),
               dataset.source << ": no question has a gold output; give a predictions file to write");
  std::vector<std::pair<std::string, int>> sweep;
  if (o.zero_shot)
    sweep.push_back({"none", 0});
  else
    for (const auto& r : o.retrievers)
      for (int k : o.ks) sweep.push_back({r, k});
  const text::PromptTemplate& tmpl = data::PromptTemplateFor(dataset.task->name);
  Json rows = Json::array();
  for (const auto& [retriever_name, k] : sweep) {
    const auto t0 = util::Clock::now();
    // 1. Answers (greedy unless --sampling model) through the training job's
    //    path; for rspg-pre / rspg-post a trained selector picks the retriever.
    const rollout::AnswerOptions ao = AnswerOptionsFor(o, retriever_name, k);
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
    for (const auto& a : answers) {
      if (!a.error.empty()) ++skipped;
      hypotheses.push_back(text::ExtractAnswer(a.texts.empty() ? "" : a.texts[0]).answer);
    }
    if (!o.completions_path.empty())
      WriteCompletions(o.completions_path, dataset, retriever_name, k, answers, hypotheses);
    if (!o.predictions_path.empty())
      WritePredictions(PredictionsPath(o.predictions_path, retriever_name, k, sweep.size()), dataset, hypotheses);
    Json selected;  // how often the selector picked each retriever
    if (!chosen.empty()) {
      selected = Json::object();
      for (const auto& name : selection->second->selector().candidates()) selected[name] = 0;
      for (const auto& name : chosen) selected[name] = selected[name].get<int>() + 1;
      std::fprintf(stderr, "eval %s %s k=%d: the selector picked %s\n", o.name.c_str(), retriever_name.c_str(), k,
                   selected.dump().c_str());
    }
    // 2. Scores of the answers with a gold; 3. the row.
    Json row = SweepRow(
        o, dataset, retriever_name, k, skipped, scored,
        ScoreAgainstGolds(scorer, dataset.task->name, questions, answers, hypotheses, scored, o.scorer_has_format),
        selected, t0);
    rows.push_back(std::move(row));
  }
  return rows;
}

size_t PlanPredictions(const data::Dataset& dataset, const std::string& out_path, EvalOptions* o) {
  size_t hidden = 0;
  for (const auto& ex : dataset.examples) hidden += ex.output ? 0 : 1;
  if (hidden == 0) return 0;
  if (o->predictions_path.empty()) {
    const std::string dir = out_path.empty() ? "" : std::filesystem::path(out_path).parent_path().string();
    o->predictions_path = (dir.empty() ? "." : dir) + "/" + o->split + "_predictions.json";
  }
  std::fprintf(stderr,
               "eval: %zu of %zu questions have no gold output (hidden): they are answered, not scored; "
               "predictions go to %s\n",
               hidden, dataset.examples.size(), o->predictions_path.c_str());
  return hidden;
}

}  // namespace prlm::pipeline
