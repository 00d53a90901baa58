// One data-parallel learner replica: the policy under training, its optimizer
// and schedule, and the update of one step. What it minimises is the
// objective's (common/objective/objective.h); the optimizer, schedule and
// LoRA come from the config's optim and lora sections.
//
// Step(), for a LearnStep (this learner's micro-batches of a step's batch):
//   1. the log-probs the objective needs fixed over the update: the
//      reference's (LoRA adapters disabled, or the frozen reference model of
//      full fine-tuning) and the old policy's (off-policy updates; else old =
//      current);
//   2. for each of the objective's update epochs: for each micro-batch, the
//      objective's loss and backward, accumulating;
//   3. the gradients of every learner are summed (the injected all-reduce)
//      and divided by the step's global micro-batch count, so the update is
//      the mean over micro-batches whichever learner ran them: 2 learners with
//      half the micro-batches each make the same update as 1 with all;
//   4. gradient-norm clip, AdamW with the LR schedule's rate, version + 1.
// A learner with no micro-batches still joins the all-reduce with zeros.
//
// Checkpoints: SaveState writes what continuing exactly needs (optimizer,
// schedule position, version, this rank's RNG) beside the policy in Hugging
// Face layout (merged LoRA plus the adapter on its own); LoadState reads it.
//
// Thread-safety: one thread at a time.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/config/train_config.h"
#include "common/model/lora.h"
#include "common/model/causal_lm.h"
#include "common/objective/objective.h"
#include "learner/lr_schedule.h"
#include "proto/train.pb.h"

namespace prlm::learner {

// Sums tensors element-wise over every learner, in place.
using AllReduceFn = std::function<void(const std::vector<torch::Tensor>&)>;

struct StepStats {
  proto::LearnerStats sums;  // over this learner's micro-batches (last epoch)
  double grad_norm = 0;      // of the mean gradient, before clipping (last epoch)
  double lr = 0;
  double old_logprob_s = 0, ref_s = 0, update_s = 0;
  int64_t tokens = 0;
  proto::RolloutMismatch rollout_mismatch;  // the sampler's log-probs vs the first epoch's
};

// The LR schedule of a run of `total_steps` steps of `epochs` optimizer steps each.
LrSchedule ScheduleOf(const config::OptimConfig& optim, int64_t total_steps, int64_t epochs);

class PolicyLearner {
 public:
  // `policy` is trained (LoRA is applied here when config.lora.rank > 0);
  // `reference` is the frozen reference for full fine-tuning when the
  // objective needs reference log-probs (else null). `total_steps`: the run's
  // steps (the LR schedule). compute_dtype bf16: mixed precision, the
  // forward passes' matrix products in bf16 over the models' weights, which
  // (REQUIRES) are fp32, as are the gradients and optimizer state.
  PolicyLearner(model::CausalLM policy, model::CausalLM reference, const config::TrainConfig& config,
                int64_t total_steps, torch::ScalarType compute_dtype = torch::kFloat);
  ~PolicyLearner();

  StepStats Step(const proto::LearnStep& step, const AllReduceFn& all_reduce);
  // The step without model compute (simulate.enabled, docs/scale.md): sleeps
  // for the step's prompt + completion tokens at `tokens_per_s` x every
  // epoch, all-reduces zero gradients of the trainable tensors' shapes (the
  // real collective) and advances the version; the weights stay as they are.
  StepStats SimulatedStep(const proto::LearnStep& step, const AllReduceFn& all_reduce, double tokens_per_s);

  // The tensors that change in training (model::TrainableParameters).
  std::vector<torch::Tensor> TrainableParameters() { return model::TrainableParameters(*policy_); }
  model::CausalLM& policy() { return policy_; }
  int64_t version() const { return version_; }
  torch::ScalarType compute_dtype() const { return compute_dtype_; }
  int64_t optimizer_steps() const { return optimizer_steps_; }

  // The policy in Hugging Face layout (config.json, model.safetensors with
  // LoRA merged, tokenizer files copied from `tokenizer_dir`) plus `adapter/`
  // with LoRA. The live model is left bit-identical.
  void SavePolicy(const std::string& dir, const std::string& tokenizer_dir, const std::string& base_model);
  // optimizer.pt, learner_state.json (version, optimizer steps).
  void SaveOptimizer(const std::string& dir);
  void LoadOptimizer(const std::string& dir);

  // A new start of fine-tuning (rest's M-steps): a fresh optimizer and LR
  // schedule; with `base_dir` (a Hugging Face directory of this
  // architecture) also its weights, or with LoRA the adapters as they were
  // made (the base weights never change). The version goes on counting.
  void Restart(const std::string& base_dir);

 private:
  std::unique_ptr<torch::optim::AdamW> MakeOptimizer();

  // One optimizer step over the batch; adds the sampler-vs-learner mismatch
  // into *mismatch when given (the first epoch: nothing updated yet).
  double UpdateEpoch(const proto::LearnStep& step, std::vector<struct MicroBatchCache>& cache, StepStats& stats,
                     const AllReduceFn& all_reduce, proto::RolloutMismatch* mismatch);

  model::CausalLM policy_, reference_;
  std::unique_ptr<objective::Objective> objective_;
  objective::LearnerNeeds needs_;
  config::OptimConfig optim_;
  LrSchedule schedule_;
  bool lora_;
  torch::ScalarType compute_dtype_;
  model::LoraOptions lora_options_;
  std::vector<torch::Tensor> trainable_;
  std::vector<torch::Tensor> initial_adapters_;  // LoRA: trainable_ as made (Restart)
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  int64_t version_ = 0, optimizer_steps_ = 0;
};

// This process's torch CPU generator state, and restoring it (checkpoints).
torch::Tensor CpuRngState();
void SetCpuRngState(const torch::Tensor& state);

}  // namespace prlm::learner
