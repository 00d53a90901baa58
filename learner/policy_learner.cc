#include "learner/policy_learner.h"

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>
#include <thread>

#include "common/comm/tensor_collectives.h"
#include "common/model/pretrained.h"
#include "common/objective/micro_batch_logprobs.h"
#include "common/objective/rollout_mismatch.h"
#include "common/util/check.h"
#include "common/util/clock.h"
#include "common/util/file.h"
#include "learner/policy_batch.h"

namespace prlm::learner {

// A micro-batch's tensors and the log-probs that stay fixed over the step.
struct MicroBatchCache {
  PolicyBatch batch;
  torch::Tensor old_logp, ref_logp;  // undefined when not needed
};

LrSchedule ScheduleOf(const config::OptimConfig& optim, int64_t total_steps, int64_t epochs) {
  LrSchedule s;
  s.kind = optim.schedule;
  s.total_steps = std::max<int64_t>(1, total_steps * epochs);
  s.warmup_ratio = optim.warmup_ratio;
  s.min_lr_ratio = optim.min_lr_ratio;
  return s;
}

PolicyLearner::PolicyLearner(model::CausalLM policy, model::CausalLM reference, const config::TrainConfig& config,
                             int64_t total_steps, torch::ScalarType compute_dtype)
    : policy_(std::move(policy)),
      reference_(std::move(reference)),
      objective_(objective::MakeObjective(config)),
      needs_(objective_->learner_needs()),
      optim_(config.optim),
      schedule_(ScheduleOf(config.optim, total_steps, needs_.epochs)),
      lora_(config.lora.enabled()),
      compute_dtype_(compute_dtype),
      lora_options_(model::LoraOptionsOf(config.lora)) {
  schedule_.Validate();
  PRLM_REQUIRE(compute_dtype_ == torch::kFloat || policy_->model->embed_tokens->weight.scalar_type() == torch::kFloat,
               "learner: mixed precision needs fp32 weights (the bf16 is in the matrix products only)");
  if (lora_) model::ApplyLora(*policy_, lora_options_);
  PRLM_REQUIRE(!needs_.reference_logprobs || lora_ || reference_,
               "learner: a KL term (grpo.beta > 0) with full fine-tuning needs a reference model");
  if (reference_) {
    reference_->eval();
    for (auto& p : reference_->parameters()) p.set_requires_grad(false);
  }
  trainable_ = TrainableParameters();
  // Weights and gradients in bucket-sized buffers: the all-reduce and the
  // weight broadcast then move them in place.
  comm::PackIntoBuckets(trainable_, /*with_grads=*/true);
  if (lora_) {
    torch::NoGradGuard no_grad;
    for (const auto& t : trainable_) initial_adapters_.push_back(t.clone());
  }
  optimizer_ = MakeOptimizer();
}

std::unique_ptr<torch::optim::AdamW> PolicyLearner::MakeOptimizer() {
  return std::make_unique<torch::optim::AdamW>(trainable_, torch::optim::AdamWOptions(optim_.lr)
                                                               .betas({optim_.beta1, optim_.beta2})
                                                               .eps(optim_.eps)
                                                               .weight_decay(optim_.weight_decay));
}

void PolicyLearner::Restart(const std::string& base_dir) {
  if (!base_dir.empty()) {
    torch::NoGradGuard no_grad;
    if (lora_) {
      for (size_t i = 0; i < trainable_.size(); ++i) trainable_[i].copy_(initial_adapters_[i]);
    } else {
      // In place: the weight buckets (all-reduce, broadcast) keep pointing at these tensors.
      const auto& w = policy_->model->embed_tokens->weight;
      const auto base = model::LoadCausalLM(base_dir, w.device(), w.scalar_type());
      const auto from = base->named_parameters(true);
      for (auto& p : policy_->named_parameters(true)) {
        const auto* src = from.find(p.key());
        PRLM_REQUIRE(src && src->sizes() == p.value().sizes(),
                     "learner: restart from " << base_dir << ": its '" << p.key() << "' does not match the policy's");
        p.value().copy_(*src);
      }
    }
  }
  optimizer_ = MakeOptimizer();
  optimizer_steps_ = 0;
}

PolicyLearner::~PolicyLearner() = default;

StepStats PolicyLearner::Step(const proto::LearnStep& step, const AllReduceFn& all_reduce) {
  PRLM_REQUIRE(step.global_micro_batches() >= step.micro_batches_size() && step.global_micro_batches() >= 1,
               "learner: step " << step.step() << " has global_micro_batches " << step.global_micro_batches()
                                << " < its own " << step.micro_batches_size());
  const auto device = policy_->model->embed_tokens->weight.device();
  StepStats stats;
  std::vector<MicroBatchCache> cache;
  for (const auto& mb : step.micro_batches()) {
    cache.push_back(MicroBatchCache{MakePolicyBatch(mb, device), {}, {}});
    stats.tokens += cache.back().batch.tokens();
  }
  // 1. The log-probs that stay fixed during the update.
  if (needs_.reference_logprobs) {
    const auto t0 = util::Clock::now();
    torch::NoGradGuard no_grad;
    policy_->eval();
    if (lora_) model::SetLoraEnabled(*policy_, false);
    for (auto& c : cache)
      c.ref_logp =
          ScoreCompletions(lora_ ? policy_ : reference_, c.batch, needs_.temperature, false, compute_dtype_).logprobs;
    if (lora_) model::SetLoraEnabled(*policy_, true);
    stats.ref_s = util::Seconds(t0);
  }
  if (needs_.old_from_rollout) {
    // The sampler's log-probs: the policy version and temperature that drew
    // the tokens (log_softmax(logits / T), as ScoreCompletions computes).
    for (auto& c : cache) {
      PRLM_REQUIRE(c.batch.rollout_logprobs.defined(),
                   "learner: step " << step.step() << " has sequences without rollout log-probs, which "
                                    << "grpo.old_logprobs=rollout needs (use grpo.old_logprobs=recompute)");
      c.old_logp = c.batch.rollout_logprobs;
    }
  } else if (needs_.old_logprobs) {
    const auto t0 = util::Clock::now();
    torch::NoGradGuard no_grad;
    policy_->eval();
    for (auto& c : cache)
      c.old_logp = ScoreCompletions(policy_, c.batch, needs_.temperature, false, compute_dtype_).logprobs;
    stats.old_logprob_s = util::Seconds(t0);
  }
  if (needs_.behaviour_logprobs)
    for (const auto& c : cache)
      PRLM_REQUIRE(c.batch.rollout_logprobs.defined(),
                   "learner: step " << step.step() << " has sequences without rollout log-probs, which grpo.off_policy="
                                    << "needs (set grpo.off_policy=none)");
  // 2-4. The objective's update epochs, each one optimizer step over the whole batch.
  const auto t0 = util::Clock::now();
  policy_->train();
  for (int64_t epoch = 0; epoch < needs_.epochs; ++epoch)
    stats.grad_norm = UpdateEpoch(step, cache, stats, all_reduce, epoch == 0 ? &stats.rollout_mismatch : nullptr);
  stats.update_s = util::Seconds(t0);
  ++version_;
  return stats;
}

StepStats PolicyLearner::SimulatedStep(const proto::LearnStep& step, const AllReduceFn& all_reduce,
                                       double tokens_per_s) {
  PRLM_CHECK(tokens_per_s > 0);
  StepStats stats;
  int64_t seen = 0;
  for (const auto& mb : step.micro_batches())
    for (const auto& s : mb.sequences()) {
      seen += s.prompt_size() + s.completion_size();
      stats.tokens += s.completion_size();
    }
  const auto t0 = util::Clock::now();
  for (int64_t epoch = 0; epoch < needs_.epochs; ++epoch) {
    std::this_thread::sleep_for(std::chrono::duration<double>(static_cast<double>(seen) / tokens_per_s));
    std::vector<torch::Tensor> grads;
    for (auto& p : trainable_) grads.push_back(torch::zeros_like(p));
    all_reduce(grads);
  }
  stats.update_s = util::Seconds(t0);
  stats.sums.set_micro_batches(static_cast<double>(step.micro_batches_size()));
  stats.lr = optim_.lr * schedule_.Factor(optimizer_steps_);
  optimizer_steps_ += needs_.epochs;
  ++version_;
  return stats;
}

double PolicyLearner::UpdateEpoch(const proto::LearnStep& step, std::vector<MicroBatchCache>& cache, StepStats& stats,
                                  const AllReduceFn& all_reduce, proto::RolloutMismatch* mismatch) {
  for (auto& p : trainable_) {
    if (!p.grad().defined())
      p.mutable_grad() = torch::zeros_like(p);
    else
      p.mutable_grad().zero_();
  }
  stats.sums.Clear();  // the statistics are the last epoch's
  for (auto& c : cache) {
    const auto scores = ScoreCompletions(policy_, c.batch, needs_.temperature, true, compute_dtype_);
    const auto& mask = c.batch.completion_mask;
    // Before any update of this step: the learner's view of the sampled tokens.
    if (mismatch && c.batch.rollout_logprobs.defined())
      objective::AddRolloutMismatch(scores.logprobs.detach(), c.batch.rollout_logprobs, mask, mismatch);
    const double tokens = std::max(1.0, mask.sum().item<double>());
    stats.sums.set_entropy(stats.sums.entropy() + (scores.entropy * mask).sum().item<double>() / tokens);
    const objective::MicroBatchLogprobs in{
        scores.logprobs, c.old_logp,         needs_.behaviour_logprobs ? c.batch.rollout_logprobs : torch::Tensor(),
        c.ref_logp,      c.batch.advantages, mask};
    objective_->Loss(in, &stats.sums).backward();
  }
  stats.sums.set_micro_batches(static_cast<double>(cache.size()));
  // The mean over every learner's micro-batches.
  std::vector<torch::Tensor> grads;
  for (auto& p : trainable_) grads.push_back(p.grad());
  all_reduce(grads);
  {
    torch::NoGradGuard no_grad;
    for (auto& g : grads) g.div_(static_cast<double>(step.global_micro_batches()));
  }
  const double max_norm = optim_.grad_clip > 0 ? optim_.grad_clip : std::numeric_limits<double>::infinity();
  const double norm = torch::nn::utils::clip_grad_norm_(trainable_, max_norm);
  PRLM_REQUIRE(std::isfinite(norm), "learner: step " << step.step() << ": the gradient norm is " << norm
                                                     << " (the loss diverged; lower optim.lr?)");
  stats.lr = optim_.lr * schedule_.Factor(optimizer_steps_);
  for (auto& group : optimizer_->param_groups()) static_cast<torch::optim::AdamWOptions&>(group.options()).lr(stats.lr);
  optimizer_->step();
  ++optimizer_steps_;
  return norm;
}

void PolicyLearner::SavePolicy(const std::string& dir, const std::string& tokenizer_dir,
                               const std::string& base_model) {
  std::filesystem::create_directories(dir);
  if (lora_) {
    // Merging changes the base weights in floating point; keep a copy so the
    // live model goes on bit-identical after the unmerge.
    std::vector<torch::Tensor> live, saved;
    {
      torch::NoGradGuard no_grad;
      for (auto& p : policy_->named_parameters(true))
        if (!model::IsLoraParameter(p.key())) live.push_back(p.value()), saved.push_back(p.value().clone());
    }
    model::MergeLora(*policy_);
    model::SaveCausalLM(policy_, dir);
    model::UnmergeLora(*policy_);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < live.size(); ++i) live[i].copy_(saved[i]);
    model::SaveLoraAdapter(*policy_, lora_options_, dir + "/adapter", base_model);
  } else {
    model::SaveCausalLM(policy_, dir);
  }
  util::CopyTokenizerFiles(tokenizer_dir, dir);
}

void PolicyLearner::SaveOptimizer(const std::string& dir) {
  std::filesystem::create_directories(dir);
  torch::save(*optimizer_, dir + "/optimizer.pt");
  nlohmann::ordered_json j;
  j["weight_version"] = version_;
  j["optimizer_steps"] = optimizer_steps_;
  util::WriteFileAtomic(dir + "/learner_state.json", j.dump(2) + "\n");
}

void PolicyLearner::LoadOptimizer(const std::string& dir) {
  const std::string state = dir + "/learner_state.json";
  try {
    const auto j = nlohmann::json::parse(util::ReadFile(state));
    version_ = j.at("weight_version").get<int64_t>();
    optimizer_steps_ = j.at("optimizer_steps").get<int64_t>();
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW(state << ": " << e.what());
  }
  try {
    torch::load(*optimizer_, dir + "/optimizer.pt");
  } catch (const c10::Error& e) {
    PRLM_THROW(dir << "/optimizer.pt: cannot be read as this run's AdamW state: " << e.what_without_backtrace());
  }
}

torch::Tensor CpuRngState() {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  return gen.get_state();
}

void SetCpuRngState(const torch::Tensor& state) {
  auto gen = at::detail::getDefaultCPUGenerator();
  std::lock_guard<std::mutex> lock(gen.mutex());
  gen.set_state(state);
}

}  // namespace prlm::learner
