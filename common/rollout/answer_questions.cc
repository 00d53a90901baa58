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
  // 2. Completions: every asked question through one engine, batch_size
  //    questions' samples in flight at once; an answer is decoded as soon as
  //    its last sample finishes.
  t0 = util::Clock::now();
  if (!asked.empty() && options.simulate) {
    std::vector<SimulatedRequest> requests;
    for (size_t i : asked) requests.push_back({&answers[i].prompt, &questions[i].sample_seeds, &questions[i].gold});
    auto completions =
        SimulateCompletions(*options.simulate, tokenizer, options.sampling.stop_token_ids, requests, &t.generation);
    for (size_t j = 0; j < asked.size(); ++j) {
      Answer& a = answers[asked[j]];
      a.completions = std::move(completions[j]);
      for (auto& c : a.completions) c.versions.assign(c.tokens.size(), options.weight_version);
      for (const auto& c : a.completions) a.texts.push_back(tokenizer.Decode(c.tokens, /*skip_special_tokens=*/true));
    }
    if (progress) progress(asked.size(), asked.size());
  } else if (!asked.empty()) {
    std::vector<generation::GenerationRequest> requests;
    size_t widest = 1;
    for (size_t i : asked) {
      requests.push_back({answers[i].prompt, questions[i].sample_seeds});
      widest = std::max(widest, questions[i].sample_seeds.size());
    }
    const size_t batch = options.batch_size > 0 ? options.batch_size : asked.size();
    auto engine_options = generation::OptionsFor(requests, options.sampling, options.kv_cache_tokens,
                                                 static_cast<int64_t>(batch * widest));
    engine_options.weight_version = options.weight_version;
    engine_options.on_weight_update = options.on_weight_update;
    torch::NoGradGuard no_grad;
    generation::Engine::TokenText token_text;  // for stop strings
    if (!options.sampling.stop_strings.empty())
      token_text = [&tokenizer](int32_t id) { return tokenizer.Decode(std::vector<int32_t>{id}); };
    generation::Engine engine(policy, options.sampling, engine_options, token_text);
    std::vector<size_t> samples_left(asked.size());
    for (size_t j = 0; j < asked.size(); ++j) {
      answers[asked[j]].completions.resize(requests[j].sample_seeds.size());
      samples_left[j] = requests[j].sample_seeds.size();
      engine.Submit(std::move(requests[j]));  // request id j
    }
    size_t done = 0;
    const auto finished = [&](generation::FinishedSample&& f) {
      Answer& a = answers[asked[f.request]];
      a.completions[f.sample] = std::move(f.completion);
      if (--samples_left[f.request] > 0) return;
      for (const auto& c : a.completions) a.texts.push_back(tokenizer.Decode(c.tokens, /*skip_special_tokens=*/true));
      if (progress && (++done % batch == 0 || done == asked.size())) progress(done, asked.size());
    };
    while (!engine.Idle()) {
      if (options.between_steps) options.between_steps(engine);
      for (auto& f : engine.Step()) finished(std::move(f));
    }
    engine.stats().AddTo(&t.generation);
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
