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
// Shared prompts: a GRPO group's samples share one prompt, and the prompt is
// most of each row (about 380 of 440 tokens in the demo). When rows of a
// micro-batch share prompts, the decoder runs each distinct prompt once,
// repeats its keys and values for the rows that share it, and runs only the
// completions over them; gradients flow back through the repeat, so the
// log-probs and their gradients are those of the full rows (to float
// rounding) at a fraction of the tokens.
//
// Thread-safety: pure functions; the model follows torch's rules.
#pragma once

#include <torch/torch.h>

#include <cstdint>

#include "common/model/qwen2.h"
#include "proto/train.pb.h"

namespace prlm::learner {

struct PolicyBatch {
  torch::Tensor ids;              // [B, P + C] int64
  torch::Tensor mask;             // [B, P + C] int64, 1 on real tokens
  torch::Tensor completion;       // [B, C] int64
  torch::Tensor completion_mask;  // [B, C] float, 1 on real completion tokens
  torch::Tensor rollout_logprobs; // [B, C] float (0 where absent)
  torch::Tensor advantages;       // [B] float
  int64_t prompt_width = 0;       // P
  // Defined only when some rows share a prompt: the distinct prompts' rows
  // [U] and, for each row, the index of its prompt among them [B].
  torch::Tensor distinct_prompt_rows, prompt_of_row;
  int64_t tokens() const;         // real completion tokens
};

// REQUIRES (throws prlm::Error): at least one sequence; every prompt and
// completion non-empty; rollout log-probs absent or one per completion token.
PolicyBatch MakePolicyBatch(const proto::MicroBatch& micro_batch, torch::Device device, int32_t pad_id = 0);

struct CompletionScores {
  torch::Tensor logprobs;  // [B, C], differentiable when grad is enabled
  torch::Tensor entropy;   // [B, C] (no graph), undefined unless asked for
};

// log p(completion token t | prompt, completion < t) of logits / temperature.
// compute_dtype bf16: the decoder's matrix products run in bf16 (autocast,
// learner/autocast.h) over the policy's fp32 weights; the LM head, the
// log-softmax and the entropy stay fp32.
CompletionScores ScoreCompletions(model::Qwen2ForCausalLM& policy, const PolicyBatch& batch, double temperature,
                                  bool with_entropy, torch::ScalarType compute_dtype = torch::kFloat);

}  // namespace prlm::learner
