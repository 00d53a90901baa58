// Sampling from a decoder for a person to read: prlm generate (JSON lines of
// samples) and prlm demo (a few prompts of an untrained model, and speed).
//
// Thread-safety: plain functions; the model is used by one call at a time.
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include "common/model/causal_lm.h"
#include "common/generation/generate.h"
#include "common/text/tokenizer.h"

namespace prlm::pipeline {

// `samples` completions of each prompt, `batch` prompts at a time (each
// prompt prefilled once), sample g of prompt i seeded by SampleSeed(seed, i,
// g). Writes one JSON line per sample to `out`: {"prompt": i, "sample": g,
// "text", "num_tokens", "stopped"}. Returns the generation's counters.
// REQUIRES: samples >= 1, batch >= 1.
generation::GenerationStats WriteSamples(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                    const std::vector<std::string>& prompts, int samples, size_t batch,
                                    const generation::SamplingParams& sampling, uint64_t seed, FILE* out);

// The demo's steps 2 and 3: `samples` completions at temperature 0.7 of four
// built-in prompts, the first of each shown, then prefill and decode speed.
void SamplingDemo(model::CausalLM& policy, const text::Tokenizer& tokenizer, int samples, int max_new_tokens,
                  FILE* out);

}  // namespace prlm::pipeline
