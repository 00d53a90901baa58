// The path every command that answers questions shares: questions → each
// user's top-k profile items (retrieval tier, one batch) → PrLM prompts
// within the token budget → completions (the generation engine: G seeded
// samples per prompt sharing its KV blocks, continuously batched) → one
// scoring request for the reward tier. The rollout worker
// (sampled groups), `prlm eval` (greedy answers) and the pipelines call it,
// so training and evaluation prompt and score alike.
//
// Thread-safety: one call at a time per policy.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "common/generation/generate.h"
#include "common/retrieval/profile_prompts.h"
#include "common/rollout/simulated_generation.h"
#include "common/text/tokenizer.h"
#include "proto/reward.pb.h"

namespace prlm::rollout {

struct Question {
  std::string user_id;
  std::string query;  // the retrieval query cut out of the input
  std::string input;  // the full question (what the reward model scores)
  std::string gold;
  std::vector<uint64_t> sample_seeds = {0};  // one per completion: G = size (none: prompt only)
};

struct AnswerOptions {
  retrieval::ProfilePromptOptions prompts;
  generation::SamplingParams sampling;
  size_t batch_size = 0;        // questions whose samples are in flight at once (0: all)
  int64_t kv_cache_tokens = 0;  // the engine's KV pool in positions (0: room for every sample in flight)
  // Set: no model runs; completions are simulated (simulated_generation.h).
  std::optional<SimulatedGeneration> simulate;
  // The policy's weight version: every token records it until an update.
  int64_t weight_version = 0;
  // Called on the generating thread before every engine step: it may hand
  // the engine newer weights (Engine::UpdateWeights; partial rollouts), which
  // apply to the samples in flight as `on_weight_update` says.
  std::function<void(generation::Engine&)> between_steps;
  generation::WeightSwapPolicy on_weight_update = generation::WeightSwapPolicy::kContinue;
};

struct Answer {
  std::vector<int32_t> prompt;  // token ids; empty when not asked
  int items_used = 0;           // profile items that fit the prompt
  std::string error;            // non-empty: the question could not be asked (why)
  std::vector<generation::Completion> completions;
  std::vector<std::string> texts;  // each completion decoded, special tokens skipped
};

struct AnswerTimes {
  double retrieval_s = 0, generation_s = 0;
  generation::GenerationStats generation;
};

// Every batch_size answered questions (and at the end): answered so far, of `asked`.
using AnswerProgress = std::function<void(size_t done, size_t asked)>;

// One Answer per question, in order. `retriever` may be null for zero-shot
// prompts (options.prompts.prompt.with_profile = false).
std::vector<Answer> AnswerQuestions(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                    retrieval::ProfileRetriever* retriever, const text::PromptTemplate& tmpl,
                                    const std::vector<Question>& questions, const AnswerOptions& options,
                                    AnswerTimes* times = nullptr, const AnswerProgress& progress = {});

// Every completion of every asked question as one scoring request, in order
// (a question that was not asked: its completion is "" when
// `include_unasked`, else it is left out). Items name `task`, which decides
// how the accuracy reward reads the answer.
proto::ScoreRequest ScoreRequestFor(const std::string& task, const std::vector<Question>& questions,
                                    const std::vector<Answer>& answers, bool include_unasked);

}  // namespace prlm::rollout
