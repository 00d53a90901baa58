// The configuration model: every option of every role, in typed sections
// whose fields the roles read directly. Each key is declared once (Bind), with
// its default written once (the field's initialiser below), one validation
// (Validate) and one error message. The training job reads all of it from
// YAML plus dotted overrides (config_schema.h); the single-process commands
// (serve-reward, eval, make-rm-pairs, bench) fill the same sections from
// their flags (options/config_flags.h maps each flag onto its key).
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

#include "common/config/enums.h"

namespace prlm::config {

class ConfigSchema;

struct Layout {
  int64_t retrieval = 0, reward = 0, rollout = 0, learners = 0;
  int64_t total() const { return 1 + retrieval + reward + rollout + learners; }
  bool unset() const { return retrieval == 0 && reward == 0 && rollout == 0 && learners == 0; }
  // "retrieval=R reward=W rollout=O learners=L ranks=N" (what launch scripts read).
  std::string ToString() const;
};

// One retrieval shard and one reward server; the rest split between rollout
// workers (the larger half: rollout dominates a step) and learners.
// Throws util::Error when world_size < 5.
Layout DefaultLayout(int64_t world_size);

struct ModelConfig {
  std::string policy;           // decoder directory (config.json, weights, tokenizer.json)
  std::string dtype = "auto";   // auto | fp32 | bf16
  std::string device = "auto";  // auto | cpu | cuda
  int64_t cpu_threads = 0;      // per rank; 0: each phase's ranks split the host's cores
};

struct DataConfig {
  std::string dir;
  std::string task;  // when no outputs file names it
  std::string train_split = "train", eval_split = "dev";
};

struct RetrievalConfig {
  RetrieverKind retriever = RetrieverKind::kBm25;
  int64_t k = 5;
  std::string index;    // build-index directory; empty: built in memory from data.dir
  std::string encoder;  // BERT directory for dense retrievers
  int64_t timeout_ms = 5000;
  int64_t attempts = 4;  // tries per call when the tier is slow or unreachable
  int64_t replicas = 1;  // ranks serving each shard (a client moves on from a lost one)

  // Ranges of this section's keys. Throws util::Error naming the key.
  void Validate() const;
};

// The reward tier: the weighted components and the scorer's batching. A
// training job's reward ranks, `prlm serve-reward`, `prlm eval` and the
// benchmark all build their scorer from this section.
struct RewardConfig {
  std::string model;  // reward model directory (personalization bt, when w_pers != 0)
  PersonalizationKind personalization = PersonalizationKind::kBt;
  std::string lore;  // LoRe model directory (personalization lore, when w_pers != 0)
  double w_acc = 1.0, w_fmt = 0.1, w_pers = 0.1;
  double w_sim = 0.0;        // REST-PG's similarity: mean of ROUGE-1 and ROUGE-L F
  bool stem = false;         // Porter-stem tokens before ROUGE
  int64_t max_length = 512;  // reward-model tokens per (query, answer)
  int64_t max_batch_size = 32, max_batch_tokens = 0, max_queue_delay_us = 2000;
  int64_t model_threads = 1;     // threads running batches
  int64_t max_queued = 1 << 20;  // sequences queued at most (beyond: OVERLOADED)
  int64_t timeout_ms = 30000;    // deadline of a scoring call (and of requests that give none)
  int64_t attempts = 4;          // tries per call when the server is slow, overloaded or unreachable
  double retry_backoff_s = 0.5;  // first back-off between tries (both tiers); doubles, at most 10 s

  // Ranges of this section's keys. Throws util::Error naming the key.
  void Validate() const;
};

// The training objective and its sampling (the section keeps its historical
// name, grpo, in config files).
struct GrpoConfig {
  ObjectiveKind objective = ObjectiveKind::kGrpo;
  int64_t group_size = 4;
  double beta = 0.04;
  KlEstimator kl = KlEstimator::kK3;
  double clip_eps_low = 0.2, clip_eps_high = 0.2, dual_clip_c = 0;
  int64_t mu = 1;
  AdvantageScaling advantage_scaling = AdvantageScaling::kGroupStd;
  double advantage_eps = 1e-4;
  bool drop_zero_std_groups = false;
  LossAggregation loss_aggregation = LossAggregation::kTokenMean;
  double temperature = 0.7, top_p = 1.0;
  // "config": temperature, top_p and top_k above; "model": the policy's
  // generation_config.json sets those it names (resolved by `prlm train`
  // before the roles start, so rollout and learner use the same values).
  std::string sampling = "config";
  int64_t top_k = 0, max_prompt_tokens = 512, max_completion_tokens = 768;
  // The rollout engine's KV cache pool, in token positions (0: room for all
  // of a step's samples at max_prompt_tokens + max_completion_tokens each).
  int64_t kv_cache_tokens = 0;
  int64_t max_staleness = 0;  // k: rollout up to k steps ahead (0: synchronous; 1: one step off)
  // A newer weight version reaching a rollout worker mid-item: off (it waits
  // for the next item), continue (swapped in between decode steps; each
  // token records its version) or requeue (the samples restart under it).
  PartialRollouts partial_rollouts = PartialRollouts::kOff;
  // Off-policy updates' (mu > 1 or one-step-off) old log-probs: "recompute"
  // (a learner forward with the weights before the update; one step off, the
  // ratio then starts at 1) or "rollout" (the sampler's, recorded while
  // drawing: the version that drew the samples, at the same temperature, so
  // the ratio carries the version between; no forward).
  std::string old_logprobs = "recompute";
  // The off-policy correction (common/objective/off_policy_correction.h):
  // auto is decoupled when max_staleness >= 1 with recomputed old log-probs,
  // else none. is_cap 0: the method's cap (decoupled 5, tis_* 2).
  OffPolicyCorrection off_policy = OffPolicyCorrection::kAuto;
  double is_cap = 0;
  double is_mask_low = 0.5, is_mask_high = 5.0;  // mask_*: the weights kept
  bool open_think = false;                       // prompts end with "<think>\n" (R1-style policies)
  std::string sft_template =                     // objective sft: the target; {output} = the gold output
      "<think>\nThe user's past writing shows the style to follow.\n</think>\n<answer>{output}</answer>";
  // objective sft: reasoning paths (make-reasoning) for the targets, one per
  // training question; then the target is sft_reasoning_template with
  // {reasoning} and {output}. "" = the fixed sft_template.
  std::string sft_reasoning;
  std::string sft_reasoning_template = "<think>\n{reasoning}\n</think>\n<answer>{output}</answer>";
};

// objective rest (REST-PG's EM reinforced self-training, coordinator/em_schedule.h):
// `iterations` times, an E-step samples grpo.group_size candidates per
// training question at grpo.temperature and keeps the good ones, then an
// M-step of `update_steps` sft steps fine-tunes on what was kept.
struct RestConfig {
  int64_t iterations = 3;
  int64_t update_steps = 0;         // per M-step; 0: one pass (kept sequences / trainer.prompts_per_step)
  double keep_threshold = 0.0;      // keep a candidate whose reward is > this
  int64_t keep_top = 1;             // and among those the best m per question (0: all)
  bool keep_truncated = false;      // keep candidates that hit the length limit
  RestInit init = RestInit::kBase;  // each M-step from model.policy (ReST-EM) or the previous iteration
};

struct OptimConfig {
  double lr = 1e-6, weight_decay = 0.0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, grad_clip = 1.0;
  LrScheduleKind schedule = LrScheduleKind::kCosine;
  double warmup_ratio = 0.1, min_lr_ratio = 0.1;
};

struct LoraConfig {
  int64_t rank = 0;  // 0: full fine-tuning
  double alpha = 16, dropout = 0.1;
  bool enabled() const { return rank > 0; }
};

struct TrainerConfig {
  int64_t total_steps = 0;  // 0: epochs * steps per epoch
  int64_t epochs = 1;
  int64_t prompts_per_step = 8;
  int64_t micro_batch_size = 4;  // sequences per learner forward
  int64_t seed = 42;
  std::string output_dir = "runs/prlm";
  int64_t save_every = 0;  // 0: only at the end
  int64_t keep_last = 2;
  std::string resume;            // "" | auto | PATH
  int64_t stop_after_steps = 0;  // end this launch (with a checkpoint) after N steps; 0: run to the end
  double rank_timeout_s = 1800;  // the longest any rank waits for one peer's answer
};

struct LoggingConfig {
  int64_t console_every = 1;
  std::string level = "info";   // debug | info | warn
  bool tensorboard = true;      // RUN/tensorboard/events.out.tfevents.*
  int64_t prometheus_port = 0;  // coordinator's /metrics: 0 a free port, -1 off
  std::string prometheus_host = "0.0.0.0";
};

// The elastic rollout tier (docs/elastic.md).
struct RolloutConfig {
  // Rollout workers take work from the coordinator's gateway over TCP and
  // weights by relay, so one may die (start mpirun with --enable-recovery)
  // or join (prlm rollout --join) while the job runs.
  bool elastic = false;
  double lease_s = 60;  // a worker silent this long is lost; its work goes to the others
  // An item held this long (heartbeats notwithstanding: a hung worker or a
  // straggler) also goes to the next worker that asks; 0: never.
  double item_timeout_s = 0;
  int64_t item_prompts = 0;  // prompts per work item; 0: the step's prompts split over layout.rollout
  int64_t gateway_port = 0;  // the coordinator's gateway; 0: a free port (written to RUN/gateway)
  // A worker holding a version fetches the next as deltas against it: only
  // the 16-bit words that changed (common/comm/weight_delta.h).
  bool delta_sync = false;
};

// Model compute replaced by sleeps (prlm bench scale, docs/scale.md): the
// coordinator, services, protocols and collectives run for real; a rollout
// worker sleeps for its samples' tokens and returns fixed-length
// completions, the reward tier sleeps per batch in place of its model, a
// learner sleeps for its tokens and all-reduces zero gradients.
struct SimulateConfig {
  bool enabled = false;
  int64_t completion_tokens = 256;    // every sample's length
  double prefill_tokens_per_s = 0;    // per rollout worker; 0: prefill costs nothing
  double decode_tokens_per_s = 1000;  // per rollout worker, over its batch
  double decode_step_s = 0;           // and per decode step (a batch runs as many as its longest sample)
  double long_tail_fraction = 0;      // this share of the samples runs long_tail_factor x completion_tokens
  int64_t long_tail_factor = 4;
  double learn_tokens_per_s = 10000;  // per learner: prompt + completion tokens, every pass
  double reward_batch_s = 0.02;       // the reward model's cost per batch
  double reward_sequence_s = 0.001;   // and per sequence in it
};

// The job's service network (retrieval and reward ranks).
struct NetConfig {
  // Address the service ranks listen on; "" = the address of the host name
  // the job exchanges (not every interface). Set it on multi-homed hosts.
  std::string bind_host;
  // "" = rank 0 draws a fresh job secret; else the job uses this secret file
  // (read by rank 0 only; refused if group/other-readable), so that tools
  // such as `prlm retrieve --secret-file` can reach the running job's services.
  std::string secret_file;
  // TLS for the services (net/tls.h): profiles travel on them, so it is on
  // unless a job says net.tls=false (a warning names the risk at start).
  // Without tls_cert/tls_key rank 0 makes a self-signed pair at start and
  // every client pins it; with them, clients trust tls_ca (a CA: the
  // certificate must name the service's host) or, when "", tls_cert itself.
  bool tls = true;
  std::string tls_cert, tls_key, tls_ca;
};

struct TrainConfig {
  ModelConfig model;
  DataConfig data;
  RetrievalConfig retrieval;
  RewardConfig reward;
  GrpoConfig grpo;
  RestConfig rest;
  OptimConfig optim;
  LoraConfig lora;
  TrainerConfig trainer;
  Layout layout;
  LoggingConfig logging;
  NetConfig net;
  RolloutConfig rollout;
  SimulateConfig simulate;

  // Reads `path` (may be empty: defaults only), then the overrides, then
  // checks cross-key rules. Errors name the file:line or override and the key.
  static TrainConfig Load(const std::string& path, const std::vector<std::string>& overrides);
  // Every key of `c`, bound to its field (for commands that fill sections
  // from their own flags).
  static ConfigSchema Bind(TrainConfig& c);
  // Every key with type, default and help (for `prlm train --keys`).
  static std::string Describe();
  // The effective configuration as YAML (written into the run directory).
  std::string ToYaml() const;
  // One key's effective value, as ToYaml writes it unquoted (for job scripts:
  // prlm train --print-config-value). Throws util::Error for an unknown key.
  std::string ValueOf(const std::string& key) const;
  // Ranges and cross-key rules; the layout against the world size
  // (world_size 0: skip that check). Throws util::Error naming the key.
  void Validate(int64_t world_size) const;
  // The layout to use for `world_size` ranks (the configured one, or derived).
  Layout ResolveLayout(int64_t world_size) const;
};

}  // namespace prlm::config
