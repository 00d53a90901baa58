// make-reasoning's teacher writer (REST-PG's stage 1): a teacher model is
// shown the question, the user's retrieved profile and the expected output,
// and asked for the reasoning that leads from the profile to that output; the
// text inside its <think> ... </think> (or, without the tags, before its
// answer) becomes the question's reasoning path.
//
// Questions the teacher cannot be asked (retrieval error, over the prompt
// budget) or that get an empty reasoning are not written and are counted, so
// a training job reading the file refuses it rather than train on a gap.
// Thread-safety: one call at a time per teacher model.
#pragma once

#include <functional>
#include <string>
#include <vector>

#include "common/data/dataset.h"
#include "common/data/reasoning_file.h"
#include "common/model/causal_lm.h"
#include "common/rollout/answer_questions.h"
#include "common/text/prompt.h"
#include "common/text/tokenizer.h"
#include "pipeline/reasoning_paths.h"

namespace prlm::pipeline {

// The task's template with the teacher's instruction; the question shown
// whole, with the expected output after it (TeacherQuestion).
text::PromptTemplate TeacherTemplate(const text::PromptTemplate& task_template);
// The input the teacher sees for one example.
std::string TeacherInput(const data::Example& example);

// The reasoning in a teacher's completion: inside <think> ... </think>; else
// the text before <answer>; else all of it; trimmed ("" when there is none).
std::string ReasoningOf(const std::string& completion);

// `options.sampling` should be greedy (REST-PG's teacher writes one path).
// REQUIRES: every example of `split` has an output.
std::vector<data::ReasoningPath> TeacherReasoning(model::CausalLM& teacher, const text::Tokenizer& tokenizer,
                                                  retrieval::ProfileRetriever* retriever, const data::Dataset& split,
                                                  const rollout::AnswerOptions& options, ReasoningStats* stats,
                                                  const rollout::AnswerProgress& progress = {});

}  // namespace prlm::pipeline
