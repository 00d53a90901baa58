#include "common/generation/generate.h"

#include <algorithm>
#include <cstdio>

namespace prlm::generation {

std::string GenerationStats::Summary() const {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "prefill %lld tokens at %.0f tokens/s, decode %lld tokens at %.0f tokens/s",
                static_cast<long long>(prefill_tokens), prefill_tokens / std::max(prefill_seconds, 1e-9),
                static_cast<long long>(decode_tokens), decode_tokens / std::max(decode_seconds, 1e-9));
  return buf;
}

EngineOptions OptionsFor(const std::vector<GenerationRequest>& requests, const SamplingParams& params,
                         int64_t kv_cache_tokens, int64_t max_sequences) {
  EngineOptions o;
  int64_t samples = 0, longest = 1;
  for (const auto& r : requests) {
    const int64_t max_new = r.max_new_tokens > 0 ? r.max_new_tokens : params.max_new_tokens;
    samples += static_cast<int64_t>(r.sample_seeds.size());
    longest = std::max(longest, static_cast<int64_t>(r.prompt.size()) + max_new);
  }
  o.max_sequences = std::max<int64_t>(1, max_sequences > 0 ? std::min(max_sequences, samples) : samples);
  o.step_tokens = std::max(o.step_tokens, o.max_sequences);
  // Each sample may need one block more than its positions (the copy of
  // its prompt's shared partial block).
  const int64_t per_sample = ((longest + o.block_size - 1) / o.block_size + 1) * o.block_size;
  o.kv_cache_tokens = kv_cache_tokens > 0 ? kv_cache_tokens : o.max_sequences * per_sample;
  return o;
}

std::vector<std::vector<Completion>> Generate(model::CausalLM& model, const std::vector<GenerationRequest>& requests,
                                              const SamplingParams& params, GenerationStats* stats,
                                              const EngineOptions* options, const Engine::TokenText& token_text) {
  std::vector<std::vector<Completion>> results(requests.size());
  if (requests.empty()) return results;
  Engine engine(model, params, options ? *options : OptionsFor(requests, params), token_text);
  for (size_t i = 0; i < requests.size(); ++i) {
    results[i].resize(requests[i].sample_seeds.size());
    engine.Submit(requests[i]);  // ids 0, 1, ... are request indices
  }
  engine.RunUntilIdle([&](FinishedSample&& f) { results[f.request][f.sample] = std::move(f.completion); });
  if (stats) engine.stats().AddTo(stats);
  return results;
}

}  // namespace prlm::generation
