#include "common/config/train_config.h"

#include "common/config/config_schema.h"
#include "common/util/check.h"

namespace prlm::config {
namespace {

void Require(bool ok, const std::string& key, const std::string& message) {
  PRLM_REQUIRE(ok, "config: " << key << " " << message);
}

}  // namespace

ConfigSchema TrainConfig::Bind(TrainConfig& c) {
  ConfigSchema s;
  s.Add("model.policy", &c.model.policy,
        "policy directory: a Hugging Face decoder (Qwen2, Qwen3 or Llama), or a training run's (its newest checkpoint)")
      .AddChoice(
          "model.dtype", &c.model.dtype, {"auto", "fp32", "bf16"},
          "compute dtype (auto: bf16 on CUDA; bf16 trains in mixed precision: fp32 weights, bf16 matrix products)")
      .AddChoice("model.device", &c.model.device, {"auto", "cpu", "cuda"}, "where models run")
      .Add("model.cpu_threads", &c.model.cpu_threads,
           "CPU threads per rank (0: each phase's ranks split the host's cores)");
  s.Add("data.dir", &c.data.dir, "LaMP-format directory")
      .Add("data.task", &c.data.task, "task, when no outputs file names it")
      .Add("data.train_split", &c.data.train_split, "split trained on")
      .Add("data.eval_split", &c.data.eval_split, "split evaluated on");
  s.AddEnum("retrieval.retriever", &c.retrieval.retriever, "profile retriever")
      .Add("retrieval.k", &c.retrieval.k, "profile items per prompt")
      .Add("retrieval.index", &c.retrieval.index, "build-index directory (empty: built from data.dir)")
      .Add("retrieval.encoder", &c.retrieval.encoder, "BERT encoder for dense retrievers")
      .Add("retrieval.timeout_ms", &c.retrieval.timeout_ms, "deadline of a retrieval call")
      .Add("retrieval.attempts", &c.retrieval.attempts, "tries per retrieval call (slow or unreachable shard)")
      .Add("retrieval.replicas", &c.retrieval.replicas,
           "ranks serving each shard: layout.retrieval = shards x replicas; a rollout worker's calls move on from "
           "a replica that fails (docs/elastic.md)");
  s.Add("reward.model", &c.reward.model, "reward model directory (train-rm)")
      .Add("reward.w_acc", &c.reward.w_acc, "weight of ROUGE-1+2+L F of the answer vs gold")
      .AddEnum("reward.personalization", &c.reward.personalization,
               "the w_pers term: bt (PrLM's contrastive reward model, reward.model) or lore (per-user LoRe, "
               "reward.lore)")
      .Add("reward.lore", &c.reward.lore, "LoRe model directory (train-lore) for reward.personalization=lore")
      .Add("reward.w_sim", &c.reward.w_sim, "weight of (ROUGE-1 F + ROUGE-L F) / 2 of the answer vs gold (REST-PG)")
      .Add("reward.w_fmt", &c.reward.w_fmt, "weight of the <think>...</think> answer format")
      .Add("reward.w_pers", &c.reward.w_pers, "weight of sigmoid(reward model)")
      .Add("reward.stem", &c.reward.stem, "Porter-stem tokens before ROUGE")
      .Add("reward.max_batch_size", &c.reward.max_batch_size, "reward-model batch, sequences")
      .Add("reward.max_batch_tokens", &c.reward.max_batch_tokens, "reward-model batch, tokens (0: no limit)")
      .Add("reward.max_queue_delay_us", &c.reward.max_queue_delay_us, "longest wait for a batch to fill")
      .Add("reward.model_threads", &c.reward.model_threads, "threads running reward-model batches")
      .Add("reward.max_queued", &c.reward.max_queued, "sequences queued at most (beyond: OVERLOADED)")
      .Add("reward.timeout_ms", &c.reward.timeout_ms, "deadline of a scoring call (and of requests that give none)")
      .Add("reward.attempts", &c.reward.attempts, "tries per scoring call (slow, overloaded or unreachable server)")
      .Add("reward.retry_backoff_s", &c.reward.retry_backoff_s,
           "first wait between tries of a service call (doubles, at most 10 s; retrieval too)")
      .Add("reward.max_length", &c.reward.max_length, "reward-model tokens per (query, answer)");
  s.AddEnum("grpo.objective", &c.grpo.objective,
            "grpo, sft (cross-entropy warm start), or rest (REST-PG's EM self-training: rest.*)")
      .Add("grpo.group_size", &c.grpo.group_size, "G: completions per prompt")
      .Add("grpo.beta", &c.grpo.beta, "KL coefficient (0: no reference)")
      .AddEnum("grpo.kl", &c.grpo.kl, "KL estimator")
      .Add("grpo.clip_eps_low", &c.grpo.clip_eps_low, "ratio clip below 1")
      .Add("grpo.clip_eps_high", &c.grpo.clip_eps_high, "ratio clip above 1")
      .Add("grpo.dual_clip_c", &c.grpo.dual_clip_c, "dual clip for negative advantages (0: off, else > 1)")
      .Add("grpo.mu", &c.grpo.mu, "update epochs per batch")
      .AddEnum("grpo.advantage_scaling", &c.grpo.advantage_scaling,
               "divide by the group's std, the batch's, or nothing (Dr. GRPO)")
      .Add("grpo.advantage_eps", &c.grpo.advantage_eps, "added to the std")
      .Add("grpo.drop_zero_std_groups", &c.grpo.drop_zero_std_groups, "skip groups whose rewards are all equal")
      .AddEnum("grpo.loss_aggregation", &c.grpo.loss_aggregation, "how token losses become the loss")
      .AddChoice("grpo.sampling", &c.grpo.sampling, {"config", "model"},
                 "config: grpo.temperature/top_p/top_k; model: the policy's generation_config.json where it sets them")
      .Add("grpo.temperature", &c.grpo.temperature, "sampling temperature")
      .Add("grpo.top_p", &c.grpo.top_p, "nucleus mass (1: off)")
      .Add("grpo.top_k", &c.grpo.top_k, "top-k (0: off)")
      .Add("grpo.max_prompt_tokens", &c.grpo.max_prompt_tokens, "prompt limit (the profile is cut to fit)")
      .Add("grpo.max_completion_tokens", &c.grpo.max_completion_tokens, "completion limit")
      .Add("grpo.kv_cache_tokens", &c.grpo.kv_cache_tokens,
           "rollout KV cache pool in token positions (0: every sample of a step at full length)")
      .Add("grpo.max_staleness", &c.grpo.max_staleness,
           "k: rollout up to k steps ahead of the update (0: on-policy; 1: one step off; >= 2: rollout.elastic)")
      .AddEnum("grpo.partial_rollouts", &c.grpo.partial_rollouts,
               "a newer weight version mid-item: off (waits for the next item), continue (swapped in between "
               "decode steps, samples go on) or requeue (samples restart); rollout.elastic, max_staleness >= 1")
      .AddChoice("grpo.old_logprobs", &c.grpo.old_logprobs, {"recompute", "rollout"},
                 "off-policy updates' old log-probs: recompute (a learner forward) or rollout (the sampler's)")
      .AddEnum("grpo.off_policy", &c.grpo.off_policy,
               "importance correction against the sampler's log-probs (auto: decoupled when max_staleness >= 1 "
               "with recomputed old log-probs, else none)")
      .Add("grpo.is_cap", &c.grpo.is_cap, "decoupled / tis_*: the weight cap (0: decoupled 5, tis 2)")
      .Add("grpo.is_mask_low", &c.grpo.is_mask_low, "mask_*: weights below this leave the loss")
      .Add("grpo.is_mask_high", &c.grpo.is_mask_high, "mask_*: weights above this leave the loss")
      .Add("grpo.open_think", &c.grpo.open_think, "end prompts with \"<think>\\n\" (R1-style policies)")
      .Add("grpo.sft_template", &c.grpo.sft_template, "sft target; {output} is the gold output")
      .Add("grpo.sft_reasoning", &c.grpo.sft_reasoning,
           "sft: reasoning paths per training question (make-reasoning; \"\": the fixed sft_template)")
      .Add("grpo.sft_reasoning_template", &c.grpo.sft_reasoning_template,
           "sft target with grpo.sft_reasoning; {reasoning}, {output}");
  s.Add("rest.iterations", &c.rest.iterations, "rest: EM iterations (E-step sample and keep, M-step sft)")
      .Add("rest.update_steps", &c.rest.update_steps, "rest: sft steps per M-step (0: one pass over a full kept set)")
      .Add("rest.keep_threshold", &c.rest.keep_threshold, "rest: keep candidates whose reward is above this")
      .Add("rest.keep_top", &c.rest.keep_top, "rest: then the best m per question (0: all above the threshold)")
      .Add("rest.keep_truncated", &c.rest.keep_truncated, "rest: keep candidates that hit the length limit")
      .AddEnum("rest.init", &c.rest.init,
               "rest: each M-step fine-tunes model.policy (base, as ReST-EM) or the previous iteration's model");
  s.Add("optim.lr", &c.optim.lr, "peak learning rate (AdamW)")
      .Add("optim.weight_decay", &c.optim.weight_decay, "AdamW weight decay")
      .Add("optim.beta1", &c.optim.beta1, "AdamW beta1")
      .Add("optim.beta2", &c.optim.beta2, "AdamW beta2")
      .Add("optim.eps", &c.optim.eps, "AdamW epsilon")
      .Add("optim.grad_clip", &c.optim.grad_clip, "gradient-norm clip (0: off)")
      .AddEnum("optim.schedule", &c.optim.schedule, "LR schedule")
      .Add("optim.warmup_ratio", &c.optim.warmup_ratio, "share of steps warming up")
      .Add("optim.min_lr_ratio", &c.optim.min_lr_ratio, "cosine floor, as a share of lr");
  s.Add("lora.rank", &c.lora.rank, "LoRA rank (0: full fine-tuning)")
      .Add("lora.alpha", &c.lora.alpha, "LoRA alpha")
      .Add("lora.dropout", &c.lora.dropout, "LoRA dropout");
  s.Add("trainer.total_steps", &c.trainer.total_steps, "optimizer steps (0: epochs x steps per epoch)")
      .Add("trainer.epochs", &c.trainer.epochs, "passes over the training prompts")
      .Add("trainer.prompts_per_step", &c.trainer.prompts_per_step, "prompts per step (x group_size sequences)")
      .Add("trainer.micro_batch_size", &c.trainer.micro_batch_size, "sequences per learner forward")
      .Add("trainer.seed", &c.trainer.seed, "data order, sampling and initialisation seed")
      .Add("trainer.output_dir", &c.trainer.output_dir, "run directory (checkpoints, metrics, logs)")
      .Add("trainer.save_every", &c.trainer.save_every, "steps between checkpoints (0: only at the end)")
      .Add("trainer.keep_last", &c.trainer.keep_last, "checkpoints kept")
      .Add("trainer.resume", &c.trainer.resume, "'' (fresh), auto (newest checkpoint) or a checkpoint path")
      .Add("trainer.stop_after_steps", &c.trainer.stop_after_steps,
           "end this launch after N steps with a checkpoint (0: run to the end)")
      .Add("trainer.rank_timeout_s", &c.trainer.rank_timeout_s, "longest wait for one peer before the job ends");
  s.Add("layout.retrieval", &c.layout.retrieval, "retrieval shard ranks")
      .Add("layout.reward", &c.layout.reward, "reward server ranks")
      .Add("layout.rollout", &c.layout.rollout, "rollout worker ranks")
      .Add("layout.learners", &c.layout.learners, "learner ranks");
  s.Add("logging.console_every", &c.logging.console_every, "steps between console progress lines")
      .AddChoice("logging.level", &c.logging.level, {"debug", "info", "warn"}, "log level")
      .Add("logging.tensorboard", &c.logging.tensorboard, "write TensorBoard event files to RUN/tensorboard")
      .Add("logging.prometheus_port", &c.logging.prometheus_port,
           "coordinator's Prometheus /metrics port (0: a free one, written to RUN/prometheus_targets.json; -1: off)")
      .Add("logging.prometheus_host", &c.logging.prometheus_host, "address the /metrics endpoint binds")
      .Add("net.bind_host", &c.net.bind_host,
           "address the retrieval and reward ranks listen on (\"\": the address of the host name the job exchanges)")
      .Add(
          "net.secret_file", &c.net.secret_file,
          "the job secret's file (mode 600; \"\": rank 0 draws a fresh secret), for tools that call the job's services")
      .Add("net.tls", &c.net.tls,
           "TLS 1.3 on every service connection; false: plaintext, with a warning (docs/security.md)")
      .Add("net.tls_cert", &c.net.tls_cert,
           "the services' certificate (PEM; \"\": rank 0 makes a self-signed one at start, pinned by the clients)")
      .Add("net.tls_key", &c.net.tls_key, "the certificate's private key (PEM, mode 600)")
      .Add("net.tls_ca", &c.net.tls_ca, "what clients trust (PEM; \"\": net.tls_cert itself)");
  s.Add("rollout.elastic", &c.rollout.elastic,
        "rollout workers work through the coordinator's gateway: one may die or join (docs/elastic.md); unset: on "
        "when grpo.max_staleness >= 2 or grpo.partial_rollouts is on, which need it")
      .Add("rollout.lease_s", &c.rollout.lease_s, "a rollout worker silent this long is lost; its work is re-issued")
      .Add("rollout.item_timeout_s", &c.rollout.item_timeout_s,
           "an item held this long (a hung worker that still heartbeats, a straggler) also goes to the next worker "
           "that asks; the first result counts (0: never)")
      .Add("rollout.delta_sync", &c.rollout.delta_sync,
           "rollout.elastic: fetch a new weight version as the 16-bit words that changed since the one held")
      .Add("rollout.item_prompts", &c.rollout.item_prompts,
           "prompts per work item (0: the step's prompts split over layout.rollout)")
      .Add("rollout.gateway_port", &c.rollout.gateway_port,
           "the gateway's port (0: a free one, written to RUN/gateway)");
  s.Add("simulate.enabled", &c.simulate.enabled,
        "replace model compute by sleeps at the rates below (prlm bench scale; docs/scale.md)")
      .Add("simulate.completion_tokens", &c.simulate.completion_tokens, "every simulated sample's length")
      .Add("simulate.prefill_tokens_per_s", &c.simulate.prefill_tokens_per_s,
           "a rollout worker's prompt tokens per second (0: free)")
      .Add("simulate.decode_tokens_per_s", &c.simulate.decode_tokens_per_s,
           "a rollout worker's sampled tokens per second, over its batch")
      .Add("simulate.decode_step_s", &c.simulate.decode_step_s,
           "and seconds per decode step (a batch runs as many steps as its longest sample)")
      .Add("simulate.long_tail_fraction", &c.simulate.long_tail_fraction,
           "share of the samples that run long_tail_factor x completion_tokens")
      .Add("simulate.long_tail_factor", &c.simulate.long_tail_factor, "how much longer the long samples run")
      .Add("simulate.learn_tokens_per_s", &c.simulate.learn_tokens_per_s,
           "a learner's prompt + completion tokens per second, over every pass of its update")
      .Add("simulate.reward_batch_s", &c.simulate.reward_batch_s, "the reward model's seconds per batch")
      .Add("simulate.reward_sequence_s", &c.simulate.reward_sequence_s, "and per sequence in the batch");
  return s;
}

void RetrievalConfig::Validate() const {
  Require(k >= 1 && k <= 1000, "retrieval.k", "must be in 1..1000");
  Require(timeout_ms >= 1, "retrieval.timeout_ms", "must be at least 1");
  Require(attempts >= 1, "retrieval.attempts", "must be at least 1");
  Require(replicas >= 1, "retrieval.replicas", "must be at least 1");
}

void RewardConfig::Validate() const {
  Require(timeout_ms >= 1, "reward.timeout_ms", "must be at least 1");
  Require(max_batch_size >= 1, "reward.max_batch_size", "must be at least 1");
  Require(max_batch_tokens >= 0, "reward.max_batch_tokens", "must be >= 0");
  Require(max_queue_delay_us >= 0, "reward.max_queue_delay_us", "must be >= 0");
  Require(model_threads >= 1, "reward.model_threads", "must be at least 1");
  Require(max_queued >= 1, "reward.max_queued", "must be at least 1");
  Require(max_length >= 1, "reward.max_length", "must be at least 1");
  Require(attempts >= 1, "reward.attempts", "must be at least 1");
  Require(retry_backoff_s >= 0, "reward.retry_backoff_s", "must be >= 0");
  Require(w_acc != 0 || w_sim != 0 || w_fmt != 0 || w_pers != 0, "reward.w_acc / w_sim / w_fmt / w_pers",
          "are all 0: nothing to score");
}

Layout DefaultLayout(int64_t world_size) {
  PRLM_REQUIRE(world_size >= 5,
               "a training job needs at least 5 ranks (coordinator, retrieval shard, reward "
               "server, rollout worker, learner); this one has "
                   << world_size << " (set layout.* or start more ranks)");
  Layout l;
  l.retrieval = 1;
  l.reward = 1;
  const int64_t rest = world_size - 3;
  l.rollout = (rest + 1) / 2;
  l.learners = rest - l.rollout;
  return l;
}

TrainConfig TrainConfig::Load(const std::string& path, const std::vector<std::string>& overrides) {
  TrainConfig c;
  ConfigSchema schema = Bind(c);
  if (!path.empty()) schema.LoadYamlFile(path);
  for (const auto& o : overrides) schema.ApplyOverride(o);
  // Staleness above one step and partial rollouts run on the elastic tier
  // only (docs/async.md): they choose it unless rollout.elastic says no.
  if (!schema.WasSet("rollout.elastic"))
    c.rollout.elastic = c.grpo.max_staleness >= 2 || c.grpo.partial_rollouts != PartialRollouts::kOff;
  c.Validate(0);
  return c;
}

std::string TrainConfig::Describe() {
  TrainConfig defaults;
  return Bind(defaults).Describe();
}

std::string TrainConfig::ToYaml() const {
  TrainConfig copy = *this;
  return Bind(copy).ToYaml();
}

std::string Layout::ToString() const {
  return "retrieval=" + std::to_string(retrieval) + " reward=" + std::to_string(reward) +
         " rollout=" + std::to_string(rollout) + " learners=" + std::to_string(learners) +
         " ranks=" + std::to_string(total());
}

std::string TrainConfig::ValueOf(const std::string& key) const {
  TrainConfig copy = *this;
  const ConfigSchema schema = Bind(copy);
  PRLM_REQUIRE(schema.Has(key), "config: no key " << key << " (prlm train --keys lists them)");
  return schema.Info(key).value;
}

Layout TrainConfig::ResolveLayout(int64_t world_size) const {
  if (!layout.unset()) return layout;
  // One shard, served by retrieval.replicas ranks, taken from the rollout side.
  Layout l = DefaultLayout(world_size - (retrieval.replicas - 1));
  l.retrieval = retrieval.replicas;
  return l;
}

void TrainConfig::Validate(int64_t world_size) const {
  Require(!model.policy.empty(), "model.policy",
          "is required (a Hugging Face decoder directory: Qwen2, Qwen3 or Llama)");
  Require(net.tls_cert.empty() == net.tls_key.empty(), "net.tls_cert / net.tls_key", "are given together");
  Require(net.tls || (net.tls_cert.empty() && net.tls_ca.empty()), "net.tls_cert / net.tls_ca", "need net.tls=true");
  Require(net.tls_ca.empty() || !net.tls_cert.empty(), "net.tls_ca", "needs net.tls_cert and net.tls_key");
  Require(!data.dir.empty(), "data.dir", "is required (a LaMP-format directory)");
  retrieval.Validate();
  reward.Validate();
  Require(!IsDense(retrieval.retriever) || !retrieval.encoder.empty() || !retrieval.index.empty(), "retrieval.encoder",
          "is required for a dense retriever unless retrieval.index names a built index");
  const bool lore = reward.personalization == PersonalizationKind::kLore;
  // sft scores nothing and simulate.enabled replaces the model by a sleep.
  const bool needs_model = reward.w_pers != 0 && grpo.objective != ObjectiveKind::kSft && !simulate.enabled;
  Require(!needs_model || lore || !reward.model.empty(), "reward.model",
          "is required while reward.w_pers is not 0 (train one with train-rm, or set reward.w_pers=0)");
  Require(!needs_model || !lore || !reward.lore.empty(), "reward.lore",
          "is required with reward.personalization=lore while reward.w_pers is not 0 (train one with train-lore)");
  const bool group_std = grpo.objective == ObjectiveKind::kGrpo && grpo.advantage_scaling != AdvantageScaling::kNone;
  Require(grpo.group_size >= (group_std ? 2 : 1), "grpo.group_size",
          group_std ? "must be at least 2 (a group std needs 2 samples)" : "must be at least 1");
  Require(rest.iterations >= 1, "rest.iterations", "must be at least 1");
  Require(rest.update_steps >= 0, "rest.update_steps", "must be >= 0");
  Require(rest.keep_top >= 0, "rest.keep_top", "must be >= 0 (0: no limit)");
  Require(grpo.objective != ObjectiveKind::kRest || trainer.total_steps == 0, "trainer.total_steps",
          "must be 0 with grpo.objective=rest (its steps are rest.iterations x (E-step + M-step))");
  Require(grpo.beta >= 0, "grpo.beta", "must be >= 0");
  Require(grpo.clip_eps_low > 0 && grpo.clip_eps_low < 1, "grpo.clip_eps_low", "must be in (0, 1)");
  Require(grpo.clip_eps_high > 0, "grpo.clip_eps_high", "must be > 0");
  Require(grpo.dual_clip_c == 0 || grpo.dual_clip_c > 1, "grpo.dual_clip_c", "must be 0 (off) or > 1");
  Require(grpo.mu >= 1, "grpo.mu", "must be at least 1");
  Require(grpo.temperature > 0, "grpo.temperature", "must be > 0");
  Require(grpo.kv_cache_tokens >= 0, "grpo.kv_cache_tokens", "must be >= 0");
  Require(grpo.top_p > 0 && grpo.top_p <= 1, "grpo.top_p", "must be in (0, 1]");
  Require(grpo.top_k >= 0, "grpo.top_k", "must be >= 0");
  Require(grpo.max_prompt_tokens >= 16, "grpo.max_prompt_tokens", "must be at least 16");
  Require(grpo.max_completion_tokens >= 1, "grpo.max_completion_tokens", "must be at least 1");
  Require(grpo.max_staleness >= 0, "grpo.max_staleness", "must be >= 0");
  Require(grpo.max_staleness <= 1 || rollout.elastic, "grpo.max_staleness",
          "above 1 needs the elastic tier; rollout.elastic=false refuses it (workers fetch each step's weight version "
          "from learner 0's store "
          "while the learner goes on; the MPI weight broadcast would hold the learner until a worker drained "
          "its queue: docs/async.md)");
  Require(grpo.partial_rollouts == PartialRollouts::kOff || (rollout.elastic && grpo.max_staleness >= 1),
          "grpo.partial_rollouts",
          "needs the elastic tier (rollout.elastic=false refuses it) and grpo.max_staleness >= 1 (synchronous, no "
          "update comes while a step "
          "generates; on the MPI tier weights arrive in a broadcast between items)");
  Require(grpo.is_cap == 0 || grpo.is_cap > 1, "grpo.is_cap", "must be 0 (the method's cap) or > 1");
  Require(grpo.is_mask_low >= 0 && grpo.is_mask_low < 1 && grpo.is_mask_high > 1, "grpo.is_mask_low / is_mask_high",
          "must bracket 1: 0 <= low < 1 < high");
  Require(grpo.off_policy == OffPolicyCorrection::kAuto || grpo.off_policy == OffPolicyCorrection::kNone ||
              grpo.old_logprobs == "recompute",
          "grpo.off_policy",
          "needs grpo.old_logprobs=recompute (with the sampler's log-probs as the old policy's "
          "the ratio already starts from them: there is nothing left to correct)");
  Require(rollout.lease_s > 0, "rollout.lease_s", "must be > 0");
  Require(rollout.item_timeout_s >= 0, "rollout.item_timeout_s", "must be >= 0 (0: never)");
  Require(rollout.item_prompts >= 0, "rollout.item_prompts", "must be >= 0 (0: split over layout.rollout)");
  Require(rollout.gateway_port >= 0 && rollout.gateway_port < 65536, "rollout.gateway_port", "must be in 0..65535");
  Require(simulate.completion_tokens >= 1, "simulate.completion_tokens", "must be at least 1");
  Require(simulate.prefill_tokens_per_s >= 0, "simulate.prefill_tokens_per_s", "must be >= 0 (0: free)");
  Require(simulate.decode_tokens_per_s > 0 && simulate.learn_tokens_per_s > 0,
          "simulate.decode_tokens_per_s / simulate.learn_tokens_per_s", "must be > 0");
  Require(simulate.decode_step_s >= 0, "simulate.decode_step_s", "must be >= 0");
  Require(simulate.long_tail_fraction >= 0 && simulate.long_tail_fraction <= 1, "simulate.long_tail_fraction",
          "must be in [0, 1]");
  Require(simulate.long_tail_factor >= 1, "simulate.long_tail_factor", "must be at least 1");
  Require(simulate.reward_batch_s >= 0 && simulate.reward_sequence_s >= 0,
          "simulate.reward_batch_s / simulate.reward_sequence_s", "must be >= 0");
  Require(optim.lr > 0, "optim.lr", "must be > 0");
  Require(optim.weight_decay >= 0 && optim.grad_clip >= 0, "optim.weight_decay / optim.grad_clip", "must be >= 0");
  Require(optim.beta1 >= 0 && optim.beta1 < 1 && optim.beta2 >= 0 && optim.beta2 < 1, "optim.beta1 / optim.beta2",
          "must be in [0, 1)");
  Require(optim.warmup_ratio >= 0 && optim.warmup_ratio < 1, "optim.warmup_ratio", "must be in [0, 1)");
  Require(optim.min_lr_ratio >= 0 && optim.min_lr_ratio <= 1, "optim.min_lr_ratio", "must be in [0, 1]");
  Require(lora.rank >= 0, "lora.rank", "must be >= 0");
  Require(lora.dropout >= 0 && lora.dropout < 1, "lora.dropout", "must be in [0, 1)");
  Require(trainer.total_steps >= 0, "trainer.total_steps", "must be >= 0");
  Require(trainer.epochs >= 1, "trainer.epochs", "must be at least 1");
  Require(trainer.prompts_per_step >= 1, "trainer.prompts_per_step", "must be at least 1");
  Require(trainer.micro_batch_size >= 1, "trainer.micro_batch_size", "must be at least 1");
  Require(trainer.save_every >= 0, "trainer.save_every", "must be >= 0");
  Require(trainer.keep_last >= 1, "trainer.keep_last", "must be at least 1");
  Require(trainer.stop_after_steps >= 0, "trainer.stop_after_steps", "must be >= 0");
  Require(trainer.rank_timeout_s > 0, "trainer.rank_timeout_s", "must be > 0");
  Require(model.cpu_threads >= 0, "model.cpu_threads", "must be >= 0");
  Require(grpo.sft_reasoning_template.find("{reasoning}") != std::string::npos &&
              grpo.sft_reasoning_template.find("{output}") != std::string::npos,
          "grpo.sft_reasoning_template", "must contain {reasoning} and {output}");
  Require(grpo.sft_reasoning.empty() || grpo.objective == ObjectiveKind::kSft, "grpo.sft_reasoning",
          "is for grpo.objective=sft (the targets it trains on)");
  Require(grpo.sft_template.find("{output}") != std::string::npos, "grpo.sft_template",
          "must contain {output} (where the gold output goes)");
  Require(logging.console_every >= 1, "logging.console_every", "must be at least 1");
  Require(logging.prometheus_port >= -1 && logging.prometheus_port <= 65535, "logging.prometheus_port",
          "must be a port (0: a free one; -1: off)");
  // The layout: every count >= 0, each role present, and the ranks add up.
  Require(layout.retrieval >= 0 && layout.reward >= 0 && layout.rollout >= 0 && layout.learners >= 0, "layout.*",
          "counts must be >= 0");
  if (!layout.unset()) {
    Require(layout.retrieval >= 1, "layout.retrieval", "must be at least 1 when a layout is given");
    Require(layout.reward >= 1, "layout.reward", "must be at least 1 when a layout is given");
    Require(layout.rollout >= 1, "layout.rollout", "must be at least 1 when a layout is given");
    Require(layout.learners >= 1, "layout.learners", "must be at least 1 when a layout is given");
  }
  if (!layout.unset())
    Require(layout.retrieval % retrieval.replicas == 0, "retrieval.replicas",
            "must divide layout.retrieval (" + std::to_string(layout.retrieval) +
                " ranks = shards x replicas; the first shards-many ranks are each shard's first replica)");
  if (world_size > 0) {
    const Layout l = ResolveLayout(world_size);
    Require(l.total() == world_size, "layout",
            "gives 1 coordinator + " + std::to_string(l.retrieval) + " retrieval + " + std::to_string(l.reward) +
                " reward + " + std::to_string(l.rollout) + " rollout + " + std::to_string(l.learners) +
                " learners = " + std::to_string(l.total()) + " ranks, but the job has " + std::to_string(world_size));
    Require(trainer.prompts_per_step * grpo.group_size >= l.learners, "trainer.prompts_per_step",
            "x grpo.group_size must give every learner at least one sequence");
  }
}

}  // namespace prlm::config
