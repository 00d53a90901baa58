// How the next token is drawn, one row of logits per sample.
//
// Order per row: logits / temperature -> top-k -> top-p -> draw (greedy takes
// the arg-max). The log-prob reported is that of the temperature-scaled
// distribution before top-k/top-p, which is what GRPO's importance ratio
// compares against. Each sample draws from its own std::mt19937_64 stream
// (seeded per sample), one uniform per token, so its tokens never depend on
// the other rows.
// Thread-safety: pure functions.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <random>
#include <string>
#include <vector>

#include "common/config/train_config.h"

namespace prlm::generation {

struct SamplingParams {
  int max_new_tokens = 64;
  double temperature = 1.0;
  double top_p = 1.0;
  int top_k = 0;  // 0 = off
  bool greedy = false;
  std::vector<int32_t> stop_token_ids;  // a stop token ends a sample and is kept
  // A sample whose text comes to contain one of these ends there; the token
  // that completed it is kept. Needs the engine's token text (see engine.h).
  std::vector<std::string> stop_strings;
  int32_t pad_token_id = 0;
};

struct DrawnToken {
  int32_t token;
  float logprob;
};

// One token per row of `logits` [R, V] (fp32, CPU); rngs[r] is row r's stream.
std::vector<DrawnToken> DrawTokens(const torch::Tensor& logits, const SamplingParams& p,
                                   const std::vector<std::mt19937_64*>& rngs);

// Deterministic per-sample seed from a run seed and (prompt, sample) indices.
uint64_t SampleSeed(uint64_t run_seed, uint64_t prompt_index, uint64_t sample_index);

// The sampling of model_dir/generation_config.json over `p`, where the file
// sets it (temperature, top_p, top_k; do_sample false makes p greedy).
// Returns what it set, for the log ("" when the file sets nothing).
std::string ApplyModelSampling(const std::string& model_dir, SamplingParams* p);

// grpo.sampling=model: the policy's generation_config.json sampling replaces
// grpo.temperature / top_p / top_k where it sets them, on every rank alike
// (the learner's log-probs use the rollout's temperature). Returns the line
// to log ("" for grpo.sampling=config). Throws util::Error when the model
// asks for greedy decoding, which cannot feed GRPO's groups.
std::string ResolvePolicySampling(config::TrainConfig* config);

}  // namespace prlm::generation
