// Generate(): a fixed list of prompts through a generation Engine, the
// results in request order. The one call eval, make-rm-pairs, the teacher
// writer and the rollout worker make when they have all their prompts at once.
// Thread-safety: one call at a time per model.
#pragma once

#include <vector>

#include "common/generation/engine.h"
#include "common/generation/request.h"
#include "common/generation/sampling.h"
#include "common/model/causal_lm.h"

namespace prlm::generation {

// Engine options for `requests`: `max_sequences` samples in flight (0: all
// of them) with a step budget that covers them, and a pool of
// `kv_cache_tokens` positions, or when 0 one that holds that many samples of
// the longest prompt + max_new_tokens (what the fixed batch allocated;
// admission waits for blocks when the pool is smaller).
EngineOptions OptionsFor(const std::vector<GenerationRequest>& requests, const SamplingParams& params,
                         int64_t kv_cache_tokens = 0, int64_t max_sequences = 0);

// Result [request][sample]. Throws util::Error on a bad request (see
// Engine::Submit). `token_text` is needed only for params.stop_strings.
std::vector<std::vector<Completion>> Generate(model::CausalLM& model, const std::vector<GenerationRequest>& requests,
                                              const SamplingParams& params, GenerationStats* stats = nullptr,
                                              const EngineOptions* options = nullptr,
                                              const Engine::TokenText& token_text = {});

}  // namespace prlm::generation
