#include "pipeline/evaluation.h"

#include <algorithm>
#include <cstdio>

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

Json Evaluate(model::CausalLM& policy, const text::Tokenizer& tokenizer, retrieval::ProfileRetriever* retriever,
              const data::Dataset& dataset, reward_server::RewardScorer& scorer, const EvalOptions& o) {
  // Every question is answered; those with a gold output are scored (LaMP
  // hides the test split's golds: those only get predictions).
  std::vector<rollout::Question> questions;
  std::vector<size_t> scored;
  for (size_t i = 0; i < dataset.examples.size(); ++i) {
    const auto& ex = dataset.examples[i];
    questions.push_back(
        {ex.user_id, ex.query, ex.input, ex.output.value_or(""), {model::SampleSeed(o.seed, questions.size(), 0)}});
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
  Json rows = Json::array();
  for (const auto& [retriever_name, k] : sweep) {
    const auto t0 = util::Clock::now();
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
      const auto reply = scorer.ScoreNow(
          rollout::ScoreRequestFor(dataset.task->name, scored_questions, scored_answers, /*include_unasked=*/true));
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
    per_question.push_back({"format", util::Statistic::kMean, format_of});
    per_question.push_back({"reward", util::Statistic::kMean, reward_of});
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
    row["seconds"] = util::Seconds(t0);
    std::vector<std::string> ids;
    for (size_t i : scored) ids.push_back(dataset.examples[i].id);
    row["per_question"] = PerQuestionJson(ids, per_question);
    rows.push_back(row);
  }
  return rows;
}

}  // namespace prlm::pipeline
