#include "learner/policy_learner.h"

#include <ATen/CPUGeneratorImpl.h>
#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <limits>

#include "common/comm/tensor_collectives.h"
#include "common/config/train_config.h"
#include "common/model/pretrained.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "learner/policy_batch.h"

namespace prlm::learner {

namespace {
using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }
}  // namespace

// A micro-batch's tensors and the log-probs that stay fixed over the step.
struct MicroBatchCache {
  PolicyBatch batch;
  torch::Tensor old_logp, ref_logp;  // undefined when not needed
};

LearnerOptions LearnerOptionsFrom(const TrainConfig& c, int64_t total_steps) {
  LearnerOptions o;
  o.sft = c.grpo.objective == "sft";
  o.loss.clip_eps_low = c.grpo.clip_eps_low;
  o.loss.clip_eps_high = c.grpo.clip_eps_high;
  o.loss.dual_clip_c = c.grpo.dual_clip_c;
  o.loss.beta = o.sft ? 0 : c.grpo.beta;
  o.loss.kl = c.grpo.kl == "k1" ? KlEstimator::kK1 : c.grpo.kl == "k2" ? KlEstimator::kK2 : KlEstimator::kK3;
  o.loss.aggregation = c.grpo.loss_aggregation == "sequence_mean" ? LossAggregation::kSequenceMean
                       : c.grpo.loss_aggregation == "constant"    ? LossAggregation::kConstant
                                                                  : LossAggregation::kTokenMean;
  o.loss.max_completion_length = c.grpo.max_completion_tokens;
  o.mu = o.sft ? 1 : c.grpo.mu;
  o.recompute_old = !o.sft && (c.grpo.mu > 1 || c.grpo.max_staleness > 0);
  o.temperature = o.sft ? 1.0 : c.grpo.temperature;
  o.lr = c.optim.lr;
  o.weight_decay = c.optim.weight_decay;
  o.beta1 = c.optim.beta1;
  o.beta2 = c.optim.beta2;
  o.eps = c.optim.eps;
  o.grad_clip = c.optim.grad_clip;
  o.schedule.kind = c.optim.schedule;
  o.schedule.total_steps = std::max<int64_t>(1, total_steps * o.mu);
  o.schedule.warmup_ratio = c.optim.warmup_ratio;
  o.schedule.min_lr_ratio = c.optim.min_lr_ratio;
  o.lora = c.lora.rank > 0;
  o.lora_options.rank = c.lora.rank;
  o.lora_options.alpha = c.lora.alpha;
  o.lora_options.dropout = c.lora.dropout;
  return o;
}

PolicyLearner::PolicyLearner(model::Qwen2ForCausalLM policy, model::Qwen2ForCausalLM reference,
                             LearnerOptions options)
    : policy_(std::move(policy)), reference_(std::move(reference)), options_(std::move(options)) {
  options_.schedule.Validate();
  if (options_.lora) model::ApplyLora(*policy_, options_.lora_options);
  PRLM_REQUIRE(options_.sft || options_.loss.beta == 0 || options_.lora || reference_,
               "learner: beta > 0 with full fine-tuning needs a reference model");
  if (reference_) {
    reference_->eval();
    for (auto& p : reference_->parameters()) p.set_requires_grad(false);
  }
  trainable_ = TrainableParameters();
  // Weights and gradients in bucket-sized buffers: the all-reduce and the
  // weight broadcast then move them in place.
  comm::PackIntoBuckets(trainable_, /*with_grads=*/true);
  optimizer_ = std::make_unique<torch::optim::AdamW>(
      trainable_, torch::optim::AdamWOptions(options_.lr)
                      .betas({options_.beta1, options_.beta2})
                      .eps(options_.eps)
                      .weight_decay(options_.weight_decay));
}

std::vector<torch::Tensor> PolicyLearner::TrainableParameters() {
  std::vector<torch::Tensor> out;
  for (auto& p : policy_->named_parameters(true))
    if (p.value().requires_grad()) out.push_back(p.value());
  return out;
}

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
  if (!options_.sft && options_.loss.beta > 0) {
    const auto t0 = Clock::now();
    torch::NoGradGuard no_grad;
    policy_->eval();
    if (options_.lora) model::SetLoraEnabled(*policy_, false);
    for (auto& c : cache)
      c.ref_logp = ScoreCompletions(options_.lora ? policy_ : reference_, c.batch, options_.temperature, false).logprobs;
    if (options_.lora) model::SetLoraEnabled(*policy_, true);
    stats.ref_s = Seconds(t0);
  }
  if (options_.recompute_old) {
    const auto t0 = Clock::now();
    torch::NoGradGuard no_grad;
    policy_->eval();
    for (auto& c : cache) c.old_logp = ScoreCompletions(policy_, c.batch, options_.temperature, false).logprobs;
    stats.old_logprob_s = Seconds(t0);
  }
  // 2-4. mu update epochs, each one optimizer step over the whole batch.
  const auto t0 = Clock::now();
  policy_->train();
  for (int64_t epoch = 0; epoch < options_.mu; ++epoch)
    stats.grad_norm = UpdateEpoch(step, cache, stats, all_reduce);
  stats.update_s = Seconds(t0);
  ++version_;
  return stats;
}

double PolicyLearner::UpdateEpoch(const proto::LearnStep& step, std::vector<MicroBatchCache>& cache,
                                  StepStats& stats, const AllReduceFn& all_reduce) {
  for (auto& p : trainable_) {
    if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
    else p.mutable_grad().zero_();
  }
  double pg = 0, kl = 0, ppo_kl = 0, clip = 0, dual = 0, entropy = 0, sft = 0;
  for (auto& c : cache) {
    const auto scores = ScoreCompletions(policy_, c.batch, options_.temperature, true);
    const auto& mask = c.batch.completion_mask;
    const double tokens = std::max(1.0, mask.sum().item<double>());
    entropy += (scores.entropy * mask).sum().item<double>() / tokens;
    torch::Tensor loss;
    if (options_.sft) {
      loss = -(scores.logprobs * mask).sum() / tokens;
      sft += loss.item<double>();
    } else {
      const auto old = c.old_logp.defined() ? c.old_logp : scores.logprobs.detach();
      const GrpoLoss g = ComputeGrpoLoss(scores.logprobs, old, c.ref_logp, c.batch.advantages, mask, options_.loss);
      loss = g.loss;
      pg += g.pg_loss, kl += g.kl, ppo_kl += g.ppo_kl, clip += g.clipfrac, dual += g.dual_clipfrac;
    }
    loss.backward();
  }
  // The mean over every learner's micro-batches.
  std::vector<torch::Tensor> grads;
  for (auto& p : trainable_) grads.push_back(p.grad());
  all_reduce(grads);
  {
    torch::NoGradGuard no_grad;
    for (auto& g : grads) g.div_(static_cast<double>(step.global_micro_batches()));
  }
  const double max_norm = options_.grad_clip > 0 ? options_.grad_clip : std::numeric_limits<double>::infinity();
  const double norm = torch::nn::utils::clip_grad_norm_(trainable_, max_norm);
  PRLM_REQUIRE(std::isfinite(norm), "learner: step " << step.step() << ": the gradient norm is " << norm
                                                     << " (the loss diverged; lower optim.lr?)");
  stats.lr = options_.lr * options_.schedule.Factor(optimizer_steps_);
  for (auto& group : optimizer_->param_groups())
    static_cast<torch::optim::AdamWOptions&>(group.options()).lr(stats.lr);
  optimizer_->step();
  ++optimizer_steps_;
  const double n = static_cast<double>(cache.size());
  stats.sums = {{"pg_loss", pg}, {"kl_loss", kl}, {"ppo_kl", ppo_kl}, {"pg_clipfrac", clip},
                {"pg_clipfrac_dual", dual}, {"entropy", entropy}, {"sft_loss", sft}, {"micro_batches", n}};
  return norm;
}

void PolicyLearner::SavePolicy(const std::string& dir, const std::string& tokenizer_dir,
                               const std::string& base_model) {
  std::filesystem::create_directories(dir);
  if (options_.lora) {
    // Merging changes the base weights in floating point; keep a copy so the
    // live model goes on bit-identical after the unmerge.
    std::vector<torch::Tensor> live, saved;
    {
      torch::NoGradGuard no_grad;
      for (auto& p : policy_->named_parameters(true))
        if (!model::IsLoraParameter(p.key())) live.push_back(p.value()), saved.push_back(p.value().clone());
    }
    model::MergeLora(*policy_);
    model::SaveQwen2(policy_, dir);
    model::UnmergeLora(*policy_);
    torch::NoGradGuard no_grad;
    for (size_t i = 0; i < live.size(); ++i) live[i].copy_(saved[i]);
    model::SaveLoraAdapter(*policy_, options_.lora_options, dir + "/adapter", base_model);
  } else {
    model::SaveQwen2(policy_, dir);
  }
  CopyTokenizerFiles(tokenizer_dir, dir);
}

void PolicyLearner::SaveOptimizer(const std::string& dir) {
  std::filesystem::create_directories(dir);
  torch::save(*optimizer_, dir + "/optimizer.pt");
  nlohmann::ordered_json j;
  j["weight_version"] = version_;
  j["optimizer_steps"] = optimizer_steps_;
  WriteFileAtomic(dir + "/learner_state.json", j.dump(2) + "\n");
}

void PolicyLearner::LoadOptimizer(const std::string& dir) {
  const std::string state = dir + "/learner_state.json";
  try {
    const auto j = nlohmann::json::parse(ReadFile(state));
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
