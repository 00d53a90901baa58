// What a caller asks generation for, and what comes back: a prompt with the
// seeds of its G samples in, one Completion per sample out.
// Plain values; thread-compatible.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prlm::generation {

struct GenerationRequest {
  std::vector<int32_t> prompt;
  std::vector<uint64_t> sample_seeds;  // one per sample: G = sample_seeds.size()
  int max_new_tokens = 0;              // 0: the sampling parameters' max_new_tokens
};

enum class FinishReason { kStopToken, kStopString, kLength };
const char* FinishReasonName(FinishReason r);

struct Completion {
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;  // one per token
  // One per token: the weight version that produced it (the engine's
  // UpdateWeights() versions; EngineOptions::weight_version before any).
  std::vector<int64_t> versions;
  bool stopped = false;  // ended on a stop token or stop string (not the length limit)
  FinishReason finish = FinishReason::kLength;
};

struct GenerationStats {
  int64_t prefill_tokens = 0;  // prompt tokens run through the model
  double prefill_seconds = 0;  // steps that ran prompt tokens (the engine decodes in them too)
  int64_t decode_tokens = 0;   // tokens drawn in steps that only decoded
  double decode_seconds = 0;
  // "prefill N tokens at X tokens/s, decode M tokens at Y tokens/s"
  std::string Summary() const;
};

}  // namespace prlm::generation
