// The configuration of one `prlm train` job: every key, its type and default
// (PrLM's pinned GRPO defaults, DESIGN.md section 4), read from YAML plus
// dotted overrides (config_schema.h), then checked as a whole.
//
// The layout gives the ranks after the coordinator (rank 0), in order, to
// retrieval shards, reward servers, rollout workers and learners. Counts of
// 0 everywhere mean "derive from the world size" (DefaultLayout).
//
// Thread-safety: a plain value once loaded.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prlm {

struct Layout {
  int64_t retrieval = 0, reward = 0, rollout = 0, learners = 0;
  int64_t total() const { return 1 + retrieval + reward + rollout + learners; }
  bool unset() const { return retrieval == 0 && reward == 0 && rollout == 0 && learners == 0; }
};

// One retrieval shard and one reward server; the rest split between rollout
// workers (the larger half: rollout dominates a step) and learners.
// Throws prlm::Error when world_size < 5.
Layout DefaultLayout(int64_t world_size);

struct TrainConfig {
  struct {
    std::string policy;           // Qwen2 directory (config.json, weights, tokenizer.json)
    std::string dtype = "auto";   // auto | fp32 | bf16
    std::string device = "auto";  // auto | cpu | cuda
    int64_t cpu_threads = 0;      // per rank; 0: each phase's ranks split the host's cores
  } model;
  struct {
    std::string dir;
    std::string task;             // when no outputs file names it
    std::string train_split = "train", eval_split = "dev";
  } data;
  struct {
    std::string retriever = "bm25";
    int64_t k = 5;
    std::string index;            // build-index directory; empty: built in memory from data.dir
    std::string encoder;          // BERT directory for dense retrievers
    int64_t timeout_ms = 5000;
    int64_t attempts = 4;         // tries per call when the tier is slow or unreachable
  } retrieval;
  struct {
    std::string model;            // reward model directory (needed when w_pers != 0)
    double w_acc = 1.0, w_fmt = 0.1, w_pers = 0.1;
    int64_t max_batch_size = 32, max_queue_delay_us = 2000, timeout_ms = 30000, max_length = 512;
    int64_t attempts = 4;         // tries per call when the server is slow, overloaded or unreachable
    double retry_backoff_s = 0.5; // first back-off between tries (both tiers); doubles, at most 10 s
  } reward;
  struct {
    std::string objective = "grpo";  // grpo | sft
    int64_t group_size = 4;
    double beta = 0.04;
    std::string kl = "k3";           // k1 | k2 | k3
    double clip_eps_low = 0.2, clip_eps_high = 0.2, dual_clip_c = 0;
    int64_t mu = 1;
    std::string advantage_scaling = "group";  // group | batch | none
    double advantage_eps = 1e-4;
    bool drop_zero_std_groups = false;
    std::string loss_aggregation = "token_mean";  // token_mean | sequence_mean | constant
    double temperature = 0.7, top_p = 1.0;
    int64_t top_k = 0, max_prompt_tokens = 512, max_completion_tokens = 768;
    int64_t max_staleness = 0;       // 0: synchronous on-policy; 1: one-step-off
    bool open_think = false;         // prompts end with "<think>\n" (R1-style policies)
    std::string sft_template =       // objective sft: the target; {output} = the gold output
        "<think>\nThe user's past writing shows the style to follow.\n</think>\n<answer>{output}</answer>";
  } grpo;
  struct {
    double lr = 1e-6, weight_decay = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, grad_clip = 1.0;
    std::string schedule = "cosine";  // cosine | linear | constant
    double warmup_ratio = 0.1, min_lr_ratio = 0.1;
  } optim;
  struct {
    int64_t rank = 0;                 // 0: full fine-tuning
    double alpha = 16, dropout = 0.1;
  } lora;
  struct {
    int64_t total_steps = 0;          // 0: epochs * steps per epoch
    int64_t epochs = 1;
    int64_t prompts_per_step = 8;
    int64_t micro_batch_size = 4;     // sequences per learner forward
    int64_t seed = 42;
    std::string output_dir = "runs/prlm";
    int64_t save_every = 0;           // 0: only at the end
    int64_t keep_last = 2;
    std::string resume;               // "" | auto | PATH
    int64_t stop_after_steps = 0;     // end this launch (with a checkpoint) after N steps; 0: run to the end
    double rank_timeout_s = 1800;     // the longest any rank waits for one peer's answer
  } trainer;
  Layout layout;
  struct {
    int64_t console_every = 1;
    std::string level = "info";       // debug | info | warn
    bool tensorboard = true;          // RUN/tensorboard/events.out.tfevents.*
    int64_t prometheus_port = 0;      // coordinator's /metrics: 0 a free port, -1 off
    std::string prometheus_host = "0.0.0.0";
  } logging;

  // Reads `path` (may be empty: defaults only), then the overrides, then
  // checks cross-key rules. Errors name the file:line or override and the key.
  static TrainConfig Load(const std::string& path, const std::vector<std::string>& overrides);
  // Every key with type, default and help (for `prlm train --help`).
  static std::string Describe();
  // The effective configuration as YAML (written into the run directory).
  std::string ToYaml() const;
  // Ranges and cross-key rules; the layout against the world size
  // (world_size 0: skip that check). Throws prlm::Error naming the key.
  void Validate(int64_t world_size) const;
  // The layout to use for `world_size` ranks (the configured one, or derived).
  Layout ResolveLayout(int64_t world_size) const;
};

}  // namespace prlm
