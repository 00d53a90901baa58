// Completions without a model, for `prlm bench scale` (simulate.enabled;
// docs/scale.md): the rest of the rollout path -- retrieval, prompts,
// scoring, the coordinator's batching -- runs for real around them.
//
// Each sample is `completion_tokens` long, or long_tail_factor times that
// for the share long_tail_fraction of the samples (picked by seed: the
// shape of reasoning rollouts, where a few run far longer than most):
//   "<think>\n" filler "\n</think>\n<answer>" X "</answer>" <stop token>
// where X is the question's gold output for odd sample seeds and "none" for
// even ones, so that rewards differ within a group as real ones do. A call
// sleeps as long as a worker at the given rates would take for the batch:
// its prompt tokens at prefill_tokens_per_s (0: free), its sampled tokens at
// decode_tokens_per_s, and decode_step_s per decode step (a batch runs as
// many steps as its longest sample: the fixed cost of a step that a few
// long samples keep running, as on a GPU).
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
  double decode_step_s = 0;
  double long_tail_fraction = 0;  // in [0, 1]
  int64_t long_tail_factor = 4;
};

// Whether the sample of `seed` is one of the long ones: a fixed share of
// seeds, whatever their parity (so the long ones score like the others).
bool IsLongTailSample(uint64_t seed, double fraction);

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
