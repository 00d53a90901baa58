#include "pipeline/teacher_reasoning.h"

#include "common/data/prompt_templates.h"
#include "common/text/unicode.h"
#include "common/util/check.h"

namespace prlm::pipeline {

text::PromptTemplate TeacherTemplate(const text::PromptTemplate& task_template) {
  text::PromptTemplate t = task_template;
  t.instruction =
      "The user wrote the expected output below for this input. In <think>, write the reasoning that leads "
      "from the user's profile to it: what their past items show about their preferences (wording, tone, "
      "casing, length, habitual openings and endings) and how the output follows them. Do not copy the "
      "expected output into the reasoning. Then give the expected output in <answer>.";
  t.shows_input = true;
  return t;
}

std::string TeacherInput(const data::Example& example) {
  PRLM_CHECK(example.output.has_value());
  return example.input + "\n\nExpected output: " + *example.output;
}

std::string ReasoningOf(const std::string& completion) {
  std::string_view text = completion;
  const size_t close = text.find("</think>");
  if (close != std::string::npos) {
    text = text.substr(0, close);
    const size_t open = text.find("<think>");
    if (open != std::string::npos) text = text.substr(open + 7);
  } else if (const size_t answer = text.find("<answer>"); answer != std::string::npos) {
    text = text.substr(0, answer);
    const size_t open = text.find("<think>");
    if (open != std::string::npos) text = text.substr(open + 7);
  }
  return std::string(text::StripAsciiSpace(text));
}

std::vector<data::ReasoningPath> TeacherReasoning(model::CausalLM& teacher, const text::Tokenizer& tokenizer,
                                                  retrieval::ProfileRetriever* retriever, const data::Dataset& split,
                                                  const rollout::AnswerOptions& options, ReasoningStats* stats,
                                                  const rollout::AnswerProgress& progress) {
  // 1. Every question, with its expected output shown, through the prompt
  //    path training uses (retrieval, the profile budget, generation).
  std::vector<rollout::Question> questions;
  for (const auto& ex : split.examples) {
    PRLM_REQUIRE(ex.output.has_value(),
                 split.source << ": question " << ex.id << " has no expected output for the teacher to explain");
    questions.push_back({ex.user_id, ex.query, TeacherInput(ex), *ex.output, {0}});
  }
  const text::PromptTemplate tmpl = TeacherTemplate(data::PromptTemplateFor(split.task->name));
  const auto answers =
      rollout::AnswerQuestions(teacher, tokenizer, retriever, tmpl, questions, options, nullptr, progress);
  // 2. The reasoning of each completion.
  std::vector<data::ReasoningPath> out;
  for (size_t i = 0; i < answers.size(); ++i) {
    const auto& ex = split.examples[i];
    if (!answers[i].error.empty() || answers[i].texts.empty()) {
      if (stats && stats->not_asked++ == 0) stats->first_error = ex.id + ": " + answers[i].error;
      continue;
    }
    data::ReasoningPath p{ex.id, ex.user_id, ReasoningOf(answers[i].texts[0]), "teacher", false};
    if (p.reasoning.empty()) {
      if (stats) ++stats->empty;
      continue;
    }
    p.leaks = data::LeaksOutput(p.reasoning, *ex.output);
    if (stats) ++stats->written, stats->leaks += p.leaks;
    out.push_back(std::move(p));
  }
  return out;
}

}  // namespace prlm::pipeline
