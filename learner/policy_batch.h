// A learner micro-batch as tensors, and the per-token log-probs (and
// entropy) of its completions under a policy.
//
// Layout of row b: [pad ... prompt_b | completion_b ... pad]: prompts are
// left-padded to the longest prompt P, completions right-padded to the
// longest completion C, so column P + t holds completion token t of every
// row. One forward over [B, P + C] scores every completion token; logits are
// taken only at the C positions that predict completion tokens (the LM head
// over the prompt would be wasted work).
//
// Shared prompt tokens: a GRPO group's samples share one prompt, and the
// prompt is most of each row (about 380 of 440 tokens in the demo); the
// prompts of different questions share the system prompt and the task's
// opening words. So the decoder runs the micro-batch's common prefix once,
// then each distinct prompt's rest once over the prefix's keys and values,
// then the completions over their prompt's; each stage repeats the cache
// rows for the next (differentiable, so each row's gradient flows back to
// the prefix and rest it attends to). The log-probs and their gradients are
// those of the whole rows (to float rounding) at a fraction of the tokens.
// Dropout, where a model has it (LoRA), then draws one mask for shared tokens.
//
// Thread-safety: pure functions; the model follows torch's rules.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "common/model/causal_lm.h"
#include "proto/train.pb.h"

namespace prlm::learner {

struct PolicyBatch {
  torch::Tensor ids;               // [B, P + C] int64
  torch::Tensor mask;              // [B, P + C] int64, 1 on real tokens
  torch::Tensor completion;        // [B, C] int64
  torch::Tensor completion_mask;   // [B, C] float, 1 on real completion tokens
  torch::Tensor rollout_logprobs;  // [B, C] float; undefined unless every sequence has them
  torch::Tensor advantages;        // [B] float
  int64_t prompt_width = 0;        // P
  // Shared prompt tokens, defined only when rows share some (B >= 2 and a
  // common prefix or a repeated prompt): the distinct prompts' common prefix
  // (at most the shortest prompt less one token), each distinct prompt's
  // rest after it, left-padded, and each row's distinct prompt.
  torch::Tensor common_prefix;      // [1, L] int64; undefined when L = 0
  torch::Tensor prompt_rests;       // [U, R] int64
  torch::Tensor prompt_rests_mask;  // [U, R] int64, 1 on real tokens
  torch::Tensor prompt_of_row;      // [B] int64, in [0, U)
  int64_t tokens() const;           // real completion tokens
};

// REQUIRES (throws util::Error): at least one sequence; every prompt and
// completion non-empty; rollout log-probs absent or one per completion token.
PolicyBatch MakePolicyBatch(const proto::MicroBatch& micro_batch, torch::Device device, int32_t pad_id = 0);

// The same batch without its shared-prompt fields: scored as whole rows
// (the baseline of the tests and of `prlm bench shared-prompt`).
PolicyBatch WholeRows(PolicyBatch batch);

struct CompletionScores {
  torch::Tensor logprobs;  // [B, C], differentiable when grad is enabled
  torch::Tensor entropy;   // [B, C] (no graph), undefined unless asked for
};

// log p(completion token t | prompt, completion < t) of logits / temperature.
// compute_dtype bf16: the decoder's matrix products run in bf16 (autocast,
// learner/autocast.h) over the policy's fp32 weights; the LM head, the
// log-softmax and the entropy stay fp32.
CompletionScores ScoreCompletions(model::CausalLM& policy, const PolicyBatch& batch, double temperature,
                                  bool with_entropy, torch::ScalarType compute_dtype = torch::kFloat);

}  // namespace prlm::learner
