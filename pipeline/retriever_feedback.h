// ROPG's feedback (Salemi et al., SIGIR 2024; REFERENCE.md, section ROPG):
// how useful each of a question's first-stage candidates is to the frozen
// policy. For every question, the top-N profile items of a first-stage
// retriever (BM25 by default) are the candidates; the policy answers once
// per candidate with only that item in its prompt (k = 1, greedy by
// default; sampled answers are seeded by question and candidate), and a reward-tier component scores each answer
// against the gold (ROUGE-1 by default): the utility vector u(q, ·).
//
// The N single-item prompts of one question always form one generation batch,
// whatever else runs, so a question's answers do not depend on how questions
// are split among ranks (collect-feedback under mpirun relies on it).
//
// feedback.jsonl holds one record per question:
//   {"id", "user_id", "query", "input", "gold", "first_stage", "utility",
//    "candidates": [{"id", "position", "score", "utility", "answer",
//                    "completion", "text"}]}
// ("score": the first-stage score; "text": the item's corpus text, what a
// retriever embeds; "position": the item's index in the user's profile).
//
// Thread-safety: one call at a time per policy; the readers are pure.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/data/dataset.h"
#include "common/generation/generate.h"
#include "common/model/causal_lm.h"
#include "common/retrieval/profile_retriever.h"
#include "common/rollout/answer_questions.h"
#include "common/text/prompt.h"
#include "common/text/tokenizer.h"
#include "reward_server/reward_scorer.h"

namespace prlm::pipeline {

struct FeedbackCandidate {
  std::string id;
  uint32_t position = 0;
  double score = 0;        // first-stage score
  double utility = 0;      // the scorer's `utility` output for this candidate's answer
  std::string answer;      // the extracted answer that was scored
  std::string completion;  // the policy's whole completion
  std::string text;        // the item's corpus text
};

struct FeedbackRecord {
  std::string id, user_id, query, input, gold;
  std::string first_stage, utility;
  std::vector<FeedbackCandidate> candidates;  // first-stage order
};

struct FeedbackOptions {
  std::string first_stage = "bm25";
  int candidates = 20;             // N
  std::string utility = "rouge1";  // a scorer output name (rouge1, rougeL, accuracy, similarity, format, ...)
  text::PromptOptions prompt;      // budget, open_think, chat template
  generation::SamplingParams sampling;  // greedy (the default), max_new_tokens, stop tokens
  uint64_t seed = 1;               // when sampling: each answer's seed is drawn from (seed, question id, candidate)
};

// How answers get scored: an in-process reward::RewardScorer's ScoreNow, or a
// reward server's reply (collect-* --reward-server).
using ScoreFn = std::function<proto::ScoreReply(proto::ScoreRequest)>;

// After each question: questions done so far, of `total`.
using FeedbackProgress = std::function<void(size_t done, size_t total)>;

// One record per example of `questions` (which need gold outputs), in order.
// An example whose user the retriever does not know, or with an empty
// profile, is refused naming it; a scorer without the `utility` output is
// refused naming the outputs it has.
std::vector<FeedbackRecord> CollectFeedback(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                            retrieval::ProfileRetriever& retriever, const data::Dataset& questions,
                                            const std::vector<size_t>& which, const ScoreFn& score,
                                            const FeedbackOptions& options, const FeedbackProgress& progress = {});

// Answers questions[i] with exactly given[i]'s items in its prompt (nothing
// is retrieved): how feedback and retriever selection put chosen items in
// front of the policy. options.prompts' retriever, k and with_profile are
// set here; the rest (budget, template, sampling, batch size) is the caller's.
std::vector<rollout::Answer> AnswerWithItems(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                             const text::PromptTemplate& tmpl,
                                             const std::vector<rollout::Question>& questions,
                                             std::vector<proto::RetrieveResult> given,
                                             const rollout::AnswerOptions& options);

// The sampling seed of a question's candidate-th answer (feedback's answers
// do not depend on batching or on how ranks split the questions).
uint64_t CandidateSeed(uint64_t seed, const std::string& question_id, size_t candidate);

// The scorer output named `utility` of one scored answer; a missing one is
// refused naming the outputs the scorer has.
double UtilityOf(const proto::ScoredItem& scored, const std::string& utility);

std::string FeedbackLine(const FeedbackRecord& record);  // one JSON line, no newline
// Reads feedback.jsonl; errors name the file, line and field (a record with
// no candidates, utilities that are not numbers, a repeated question id).
std::vector<FeedbackRecord> ReadFeedback(const std::string& path);

// The oracle retriever of `prlm eval --retriever oracle --feedback FILE`: a
// question's first-stage candidates, fetched again from `first_stage`,
// reordered by the feedback's utilities (ties: first-stage order; the score
// becomes the utility), looked up by (user id, query). Other retriever
// names pass through to `first_stage`. A question the feedback does not
// hold, or a candidate it does not know, gets RetrieveResult.error.
// REQUIRES: first_stage non-null.
std::unique_ptr<retrieval::ProfileRetriever> MakeOracleRetriever(
    const std::vector<FeedbackRecord>& feedback, std::unique_ptr<retrieval::ProfileRetriever> first_stage);

}  // namespace prlm::pipeline
