// The rollout generation engine: continuous batching over a paged KV cache,
// with weights that can change between decode steps.
//
// Requests (a prompt and its G sample seeds) enter a queue. Each Step():
//  1. applies a pending weight update (UpdateWeights), if any;
//  2. admits queued prompts while sample slots (max_sequences) and KV blocks
//     allow; admission waits for blocks rather than failing;
//  3. schedules one token for every decoding sample, then fills the rest of
//     the step's token budget with prompt chunks, oldest first (a long
//     prompt is prefilled over several steps and never stalls decoding);
//  4. runs one forward pass over all of them (PagedForward);
//  5. draws the next token of every sample whose context is complete, checks
//     its stop conditions and returns the samples that finished at once.
// A prompt is prefilled once for its G samples: they share its blocks and
// each copies the last, partial block before writing into it. When the pool
// runs out mid-decode the most recently admitted sequence is preempted: its
// blocks are freed and it re-enters the queue to be recomputed, keeping its
// tokens and random stream.
//
// Determinism: a sample's tokens depend only on its seed, its prompt and the
// weights in force at each of its steps, never on what else is batched, when
// it was admitted or how its prompt was chunked (log-probs agree to float
// rounding, which the matrix multiplies' row count can move).
//
// Weights: UpdateWeights(version, tensors) applies before the next step. On
// kContinue (default) a sample in flight keeps its tokens and its K/V are
// recomputed under the new weights, so from then on it matches a fresh engine
// given the same prefix; on kAbortAndRequeue it restarts from its prompt with
// its seed. Every token records the version that produced it.
//
// Thread-safety: Submit() and UpdateWeights() may be called from any thread;
// Step() and the accessors from one thread (the engine's driver).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "common/generation/kv_block_pool.h"
#include "common/generation/paged_forward.h"
#include "common/generation/request.h"
#include "common/generation/sampling.h"
#include "common/model/causal_lm.h"

namespace prlm::generation {

enum class WeightSwapPolicy { kContinue, kAbortAndRequeue };

struct EngineOptions {
  int64_t kv_cache_tokens = 65536;  // pool capacity in token positions (all layers hold this many)
  int64_t block_size = 16;          // positions per block
  int64_t max_sequences = 256;      // samples in flight at once
  int64_t step_tokens = 512;        // tokens per step: one per decoding sample, prompt chunks fill the rest
  WeightSwapPolicy on_weight_update = WeightSwapPolicy::kContinue;
  int64_t weight_version = 0;  // the version of the weights it starts with (tokens record it until an update)
};

struct FinishedSample {
  uint64_t request = 0;  // Submit()'s id
  size_t sample = 0;     // index into the request's sample_seeds
  Completion completion;
};

struct EngineStats {
  int64_t steps = 0;
  int64_t prefill_tokens = 0;      // prompt positions run through the model
  int64_t recomputed_tokens = 0;   // positions run again after preemption or a weight update
  int64_t decode_tokens = 0;       // tokens drawn
  int64_t decode_only_tokens = 0;  // drawn in steps that ran no prompt positions
  int64_t preemptions = 0;
  int64_t copy_on_write_blocks = 0;
  int64_t peak_blocks_used = 0;
  double prefill_seconds = 0;  // steps that ran prompt (or recomputed) positions, decoding or not
  double decode_seconds = 0;   // steps that only decoded: decode_only_tokens / decode_seconds is the decode rate
  // Adds these to the prefill/decode summary callers log (its decode
  // tokens are decode_only_tokens, so its rate is the decode rate).
  void AddTo(GenerationStats* s) const;
};

class Engine {
 public:
  // Raw bytes of a token's text, for stop strings (a tokenizer's decoding
  // of that one id); may be empty when params.stop_strings is.
  using TokenText = std::function<std::string(int32_t)>;

  // Throws util::Error on options that cannot work (zero sizes, stop strings
  // without token_text).
  Engine(model::CausalLM model, SamplingParams params, EngineOptions options = {}, TokenText token_text = {});
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Queues a prompt and its samples; returns the request's id (0, 1, ... in
  // submission order). Throws util::Error naming what is wrong: an empty
  // prompt, no samples, a prompt (+ max_new_tokens) beyond the model's
  // positions or the whole KV pool.
  uint64_t Submit(GenerationRequest request);

  // New weights by parameter name (any subset), applied before the next
  // step. Throws util::Error for an unknown name or a shape that differs.
  // The engine keeps the tensors until then: the caller must not change them.
  void UpdateWeights(int64_t version, std::vector<std::pair<std::string, torch::Tensor>> tensors);

  // Runs one step (see above). Returns the samples that finished in it.
  std::vector<FinishedSample> Step();
  // Steps until nothing is queued or running, handing each finished sample
  // to `done` as it finishes.
  void RunUntilIdle(const std::function<void(FinishedSample&&)>& done);

  bool Idle() const;
  int64_t weight_version() const { return version_; }
  int64_t running_samples() const;
  const EngineStats& stats() const { return stats_; }
  const KvBlockPool& pool() const { return pool_; }

 private:
  struct Sample;
  struct Sequence;
  void ApplyPendingWeights();
  void Admit();
  bool EnsureBlocks(Sequence& seq, int64_t end_position);
  void Preempt(Sequence& seq);
  void ReleaseBlocks(Sequence& seq);
  void Finish(Sample& sample, FinishReason reason, std::vector<FinishedSample>* out);
  bool StopsOnText(Sample& sample, int32_t token) const;

  model::CausalLM model_;
  SamplingParams params_;
  EngineOptions options_;
  TokenText token_text_;
  torch::Device device_;
  KvBlockPool pool_;
  PagedForward forward_;
  EngineStats stats_;
  int64_t version_ = 0;
  uint64_t next_request_ = 0;
  uint64_t next_admission_ = 0;
  size_t longest_stop_string_ = 0;

  std::vector<std::unique_ptr<Sequence>> waiting_;  // front first
  std::vector<std::unique_ptr<Sequence>> running_;  // in admission order

  mutable std::mutex mu_;  // guards the two below
  std::deque<std::unique_ptr<Sequence>> submitted_;
  std::vector<std::pair<int64_t, std::vector<std::pair<std::string, torch::Tensor>>>> pending_weights_;
};

}  // namespace prlm::generation
