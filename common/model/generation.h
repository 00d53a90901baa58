// Batched sampling from a decoder (CausalLM) with a KV cache, and per-token
// log-probs of given sequences through the same Forward().
//
// Generate(): prompts are left-padded into one batch and prefilled once; each
// prompt's cache row is then repeated for its G samples (the prompt is never
// recomputed), and all rows decode together. Every sample draws from its own
// random stream, seeded per sample, so a sample's tokens do not depend on what
// else is in the batch. Finished rows are dropped from the batch as they stop.
// Sampling order per step: logits / temperature → top-k → top-p → draw
// (greedy takes the arg-max). The log-prob reported per token is that of the
// temperature-scaled distribution before top-k/top-p, which is what GRPO's
// importance ratio compares against.
// Thread-safety: one call at a time per model.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config/train_config.h"
#include "common/model/causal_lm.h"

namespace prlm::model {

struct SamplingParams {
  int max_new_tokens = 64;
  double temperature = 1.0;
  double top_p = 1.0;
  int top_k = 0;  // 0 = off
  bool greedy = false;
  std::vector<int32_t> stop_token_ids;  // a stop token ends a sample and is kept
  int32_t pad_token_id = 0;
};

struct GenerationRequest {
  std::vector<int32_t> prompt;
  std::vector<uint64_t> sample_seeds;  // one per sample: G = sample_seeds.size()
};

struct Completion {
  std::vector<int32_t> tokens;
  std::vector<float> logprobs;  // one per token
  bool stopped = false;         // ended on a stop token (not the length limit)
};

struct GenerationStats {
  int64_t prefill_tokens = 0;  // real (unpadded) prompt tokens
  double prefill_seconds = 0;
  int64_t decode_tokens = 0;  // generated tokens kept
  double decode_seconds = 0;
  // "prefill N tokens at X tokens/s, decode M tokens at Y tokens/s"
  std::string Summary() const;
};

// Result [request][sample]. REQUIRES: every prompt non-empty, G >= 1.
std::vector<std::vector<Completion>> Generate(CausalLM& model, const std::vector<GenerationRequest>& requests,
                                              const SamplingParams& params, GenerationStats* stats = nullptr);

// log p(ids[b, t] | ids[b, <t]) for t = 1..T-1 of left-padded rows: [B, T-1],
// zero where the target token is padding. logits are divided by `temperature`.
torch::Tensor TokenLogprobs(CausalLM& model, const torch::Tensor& ids, const torch::Tensor& mask,
                            double temperature = 1.0);

// Convenience over TokenLogprobs for unpadded sequences: row i gets
// seqs[i].size() - 1 values.
std::vector<std::vector<float>> SequenceLogprobs(CausalLM& model, const std::vector<std::vector<int32_t>>& seqs,
                                                 double temperature = 1.0);

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

}  // namespace prlm::model
