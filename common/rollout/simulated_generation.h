// Completions without a model, for `prlm bench scale` (simulate.enabled;
// docs/scale.md): the rest of the rollout path -- retrieval, prompts,
// scoring, the coordinator's batching -- runs for real around them.
//
// Each sample is exactly `completion_tokens` long:
//   "<think>\n" filler "\n</think>\n<answer>" X "</answer>" <stop token>
// where X is the question's gold output for odd sample seeds and "none" for
// even ones, so that rewards differ within a group as real ones do. A call
// sleeps as long as a worker at the given rates would take for the batch:
// its prompt tokens at prefill_tokens_per_s (0: free) and its sampled tokens
// at decode_tokens_per_s.
//
// Thread-safety: a pure function plus a sleep.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/generation/generate.h"
#include "common/text/tokenizer.h"

namespace prlm::rollout {

struct SimulatedGeneration {
  int64_t completion_tokens = 256;
  double prefill_tokens_per_s = 0;
  double decode_tokens_per_s = 1000;
};

struct SimulatedRequest {
  const std::vector<int32_t>* prompt = nullptr;
  const std::vector<uint64_t>* sample_seeds = nullptr;
  const std::string* gold = nullptr;
};

// One completion per seed of each request, in order; sleeps for the batch.
// REQUIRES: stop_token_ids not empty.
std::vector<std::vector<generation::Completion>> SimulateCompletions(const SimulatedGeneration& s,
                                                                     const text::Tokenizer& tokenizer,
                                                                     const std::vector<int32_t>& stop_token_ids,
                                                                     const std::vector<SimulatedRequest>& requests,
                                                                     generation::GenerationStats* stats);

}  // namespace prlm::rollout
