// One data-parallel learner replica: the policy under training, its optimizer
// and schedule, and the update of one step.
//
// Step(), for a LearnStep (this learner's micro-batches of a step's batch):
//   1. reference log-probs (beta > 0): LoRA adapters disabled, or the frozen
//      reference model of full fine-tuning; old log-probs when the update is
//      off-policy (mu > 1 or rollout one step ahead), else old = current;
//   2. for each of mu update epochs: for each micro-batch, the GRPO loss (or
//      sft's cross-entropy on target tokens) and backward, accumulating;
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

#include "common/model/lora.h"
#include "common/model/qwen2.h"
#include "learner/grpo_loss.h"
#include "learner/lr_schedule.h"
#include "proto/train.pb.h"

namespace prlm {
struct TrainConfig;
}

namespace prlm::learner {

struct LearnerOptions {
  bool sft = false;
  GrpoLossOptions loss;
  int64_t mu = 1;
  bool recompute_old = false;  // off-policy: old log-probs from a forward before the update
  double temperature = 1.0;
  double lr = 1e-6, weight_decay = 0, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, grad_clip = 1.0;
  LrSchedule schedule;         // over optimizer steps (steps x mu)
  bool lora = false;
  model::LoraOptions lora_options;
};

// The options of `config` (total_steps: optimizer steps of the run).
LearnerOptions LearnerOptionsFrom(const TrainConfig& config, int64_t total_steps);

// Sums tensors element-wise over every learner, in place.
using AllReduceFn = std::function<void(const std::vector<torch::Tensor>&)>;

struct StepStats {
  // Sums over this learner's micro-batches (and epochs); "micro_batches"
  // counts them. Keys: pg_loss, kl_loss, ppo_kl, pg_clipfrac,
  // pg_clipfrac_dual, entropy, sft_loss, micro_batches.
  std::vector<std::pair<std::string, double>> sums;
  double grad_norm = 0;  // of the mean gradient, before clipping (last epoch)
  double lr = 0;
  double old_logprob_s = 0, ref_s = 0, update_s = 0;
  int64_t tokens = 0;
};

class PolicyLearner {
 public:
  // `policy` is trained (LoRA is applied here when options.lora); `reference`
  // is the frozen reference for full fine-tuning with beta > 0 (else null).
  PolicyLearner(model::Qwen2ForCausalLM policy, model::Qwen2ForCausalLM reference, LearnerOptions options);

  StepStats Step(const proto::LearnStep& step, const AllReduceFn& all_reduce);

  // The tensors that change in training, in a fixed order (what weight sync
  // sends): every parameter, or only the adapters with LoRA.
  std::vector<torch::Tensor> TrainableParameters();
  model::Qwen2ForCausalLM& policy() { return policy_; }
  int64_t version() const { return version_; }
  int64_t optimizer_steps() const { return optimizer_steps_; }

  // The policy in Hugging Face layout (config.json, model.safetensors with
  // LoRA merged, tokenizer files copied from `tokenizer_dir`) plus `adapter/`
  // with LoRA. The live model is left bit-identical.
  void SavePolicy(const std::string& dir, const std::string& tokenizer_dir, const std::string& base_model);
  // optimizer.pt, learner_state.json (version, optimizer steps).
  void SaveOptimizer(const std::string& dir);
  void LoadOptimizer(const std::string& dir);

 private:
  double UpdateEpoch(const proto::LearnStep& step, std::vector<struct MicroBatchCache>& cache, StepStats& stats,
                     const AllReduceFn& all_reduce);

  model::Qwen2ForCausalLM policy_, reference_;
  LearnerOptions options_;
  std::vector<torch::Tensor> trainable_;
  std::unique_ptr<torch::optim::AdamW> optimizer_;
  int64_t version_ = 0, optimizer_steps_ = 0;
};

// This process's torch CPU generator state, and restoring it (checkpoints).
torch::Tensor CpuRngState();
void SetCpuRngState(const torch::Tensor& state);

}  // namespace prlm::learner
