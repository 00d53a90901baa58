// Generation as prlm did it before the engine: one fixed batch per call.
// Prompts are left-padded and prefilled once; each prompt's cache row is
// repeated for its G samples (dense rows, [B, kv_heads, capacity, head_dim]
// per layer); all rows decode together and finished rows are dropped. A new
// prompt waits for the whole batch. Kept as the baseline `prlm bench
// generate` measures the engine against, and as the reference the engine's
// tests compare with (same seeds, same tokens and log-probs).
// Thread-safety: one call at a time per model.
#pragma once

#include <vector>

#include "common/generation/request.h"
#include "common/generation/sampling.h"
#include "common/model/causal_lm.h"

namespace prlm::generation {

// Result [request][sample]. REQUIRES: every prompt non-empty, G >= 1.
std::vector<std::vector<Completion>> GenerateFixedBatch(model::CausalLM& model,
                                                        const std::vector<GenerationRequest>& requests,
                                                        const SamplingParams& params,
                                                        GenerationStats* stats = nullptr);

}  // namespace prlm::generation
