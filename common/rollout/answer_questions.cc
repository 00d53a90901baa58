#include "common/rollout/answer_questions.h"

#include <algorithm>

#include "common/util/check.h"
#include "common/util/clock.h"

namespace prlm::rollout {

std::vector<Answer> AnswerQuestions(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                    retrieval::ProfileRetriever* retriever, const text::PromptTemplate& tmpl,
                                    const std::vector<Question>& questions, const AnswerOptions& options,
                                    AnswerTimes* times, const AnswerProgress& progress) {
  AnswerTimes local;
  AnswerTimes& t = times ? *times : local;
  // 1. Profiles and prompts.
  auto t0 = util::Clock::now();
  std::vector<retrieval::ProfileQuestion> asked_for;
  for (const auto& q : questions) asked_for.push_back({q.user_id, q.query, q.input});
  const auto prompts = retrieval::BuildProfilePrompts(retriever, tmpl, tokenizer, asked_for, options.prompts);
  t.retrieval_s = util::Seconds(t0);
  std::vector<Answer> answers(questions.size());
  std::vector<size_t> asked;
  for (size_t i = 0; i < questions.size(); ++i) {
    answers[i].error = prompts[i].error;
    if (!prompts[i].error.empty()) continue;
    answers[i].prompt = prompts[i].built.ids;
    answers[i].items_used = prompts[i].built.items_used;
    if (!questions[i].sample_seeds.empty()) asked.push_back(i);
  }
  // 2. Completions, a batch of questions at a time.
  t0 = util::Clock::now();
  const size_t batch = options.batch_size > 0 ? options.batch_size : std::max<size_t>(1, asked.size());
  for (size_t b = 0; b < asked.size(); b += batch) {
    std::vector<model::GenerationRequest> requests;
    const size_t end = std::min(asked.size(), b + batch);
    for (size_t j = b; j < end; ++j) requests.push_back({answers[asked[j]].prompt, questions[asked[j]].sample_seeds});
    std::vector<std::vector<model::Completion>> out;
    {
      torch::NoGradGuard no_grad;
      out = model::Generate(policy, requests, options.sampling, &t.generation);
    }
    for (size_t j = b; j < end; ++j) {
      Answer& a = answers[asked[j]];
      a.completions = std::move(out[j - b]);
      for (const auto& c : a.completions) a.texts.push_back(tokenizer.Decode(c.tokens, /*skip_special_tokens=*/true));
    }
    if (progress) progress(end, asked.size());
  }
  t.generation_s = util::Seconds(t0);
  return answers;
}

proto::ScoreRequest ScoreRequestFor(const std::string& task, const std::vector<Question>& questions,
                                    const std::vector<Answer>& answers, bool include_unasked) {
  PRLM_CHECK(questions.size() == answers.size());
  proto::ScoreRequest request;
  const auto add = [&](const Question& q, const std::string& completion) {
    auto* item = request.add_items();
    item->set_query(q.input);
    item->set_completion(completion);
    item->set_gold(q.gold);
    item->set_user_id(q.user_id);
    item->set_task(task);
  };
  for (size_t i = 0; i < questions.size(); ++i) {
    if (answers[i].texts.empty() && include_unasked) add(questions[i], "");
    for (const auto& text : answers[i].texts) add(questions[i], text);
  }
  return request;
}

}  // namespace prlm::rollout
