#include "pipeline/evaluation.h"

#include <chrono>
#include <cstdio>

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
    j["gold"] = *dataset.examples[i].output;
    if (!answers[i].error.empty()) j["error"] = answers[i].error;
    lines += j.dump(-1, ' ', false, Json::error_handler_t::replace) + "\n";
  }
  WriteFileAtomic(path, lines);
}

}  // namespace

Json Evaluate(model::Qwen2ForCausalLM& policy, const text::Tokenizer& tokenizer, retrieval::ProfileRetriever* retriever,
              const data::Dataset& dataset, reward::RewardScorer& scorer, const EvalOptions& o) {
  std::vector<rollout::Question> questions;
  for (const auto& ex : dataset.examples) {
    PRLM_REQUIRE(ex.output.has_value(), dataset.source << ": question '" << ex.id << "' has no gold output");
    questions.push_back({ex.user_id, ex.query, ex.input, *ex.output, {0}});
  }
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
        policy, tokenizer, retriever, text::PromptTemplateFor(dataset.task->name), questions, ao, nullptr,
        [&](size_t done, size_t asked) {
          std::fprintf(stderr, "eval %s %s k=%d: %zu/%zu questions\n", o.name.c_str(), retriever_name.c_str(), k,
                       done, asked);
        });
    // 2. Scores of the answers (a question that could not be asked scores 0).
    double r1 = 0, r2 = 0, rl = 0, fmt = 0, reward = 0;
    size_t skipped = 0;
    std::vector<std::string> hypotheses;
    std::vector<std::vector<std::string>> references(1);
    for (size_t i = 0; i < questions.size(); ++i) {
      const std::string completion = answers[i].texts.empty() ? "" : answers[i].texts[0];
      if (!answers[i].error.empty()) ++skipped;
      const auto answer = text::ExtractAnswer(completion);
      const auto rouge = text::Rouge(questions[i].gold, answer.answer);
      r1 += rouge.rouge1.f, r2 += rouge.rouge2.f, rl += rouge.rougeL.f;
      hypotheses.push_back(answer.answer);
      references[0].push_back(questions[i].gold);
      if (!o.scorer_has_format) fmt += text::HasReasoningFormat(completion) ? 1 : 0;
    }
    if (!o.completions_path.empty())
      WriteCompletions(o.completions_path, dataset, retriever_name, k, answers, hypotheses);
    const auto reply = scorer.ScoreNow(rollout::ScoreRequestFor(questions, answers, /*include_unasked=*/true));
    PRLM_REQUIRE(reply.status() == proto::ScoreReply::OK, "eval: scoring failed: " << reply.error());
    for (const auto& s : reply.items()) {
      reward += s.reward();
      for (const auto& c : s.components())
        if (o.scorer_has_format && c.name() == "format") fmt += c.value();
    }
    // 3. The row.
    const double n = static_cast<double>(std::max<size_t>(1, questions.size()));
    Json row;
    row["name"] = o.name;
    row["model"] = o.model_dir;
    row["split"] = o.split;
    row["retriever"] = retriever_name;
    row["k"] = o.zero_shot ? Json(nullptr) : Json(k);
    row["n"] = questions.size();
    row["skipped"] = skipped;
    row["rouge1"] = r1 / n;
    row["rouge2"] = r2 / n;
    row["rougeL"] = rl / n;
    row["bleu"] = text::CorpusBleu(hypotheses, references).score;
    row["format"] = fmt / n;
    row["reward"] = reward / n;
    row["seconds"] = Seconds(t0);
    rows.push_back(row);
  }
  return rows;
}

std::string EvalMarkdownTable(const Json& rows) {
  std::string out = "| model | retriever | k | n | ROUGE-1 | ROUGE-2 | ROUGE-L | BLEU | format | reward |\n"
                    "|---|---|---|---|---|---|---|---|---|---|\n";
  char buf[512];
  for (const auto& r : rows) {
    std::snprintf(buf, sizeof buf, "| %s | %s | %s | %lld | %.4f | %.4f | %.4f | %.2f | %.3f | %.4f |\n",
                  r["name"].get<std::string>().c_str(), r["retriever"].get<std::string>().c_str(),
                  r["k"].is_null() ? "-" : std::to_string(r["k"].get<int>()).c_str(),
                  static_cast<long long>(r["n"].get<int64_t>()), r["rouge1"].get<double>(),
                  r["rouge2"].get<double>(), r["rougeL"].get<double>(), r["bleu"].get<double>(),
                  r["format"].get<double>(), r["reward"].get<double>());
    out += buf;
  }
  return out;
}

}  // namespace prlm::pipeline
