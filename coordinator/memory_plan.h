// Whether a training job fits before it starts (`prlm plan`): the memory of
// every role's ranks from the config and the models' config.json alone (no
// weights read, no MPI), where the layout puts each rank, and a refusal
// naming the rank and the numbers when a GPU or a host cannot hold it.
//
// What each role holds (bytes; P parameters, T trainable: P, or the LoRA
// adapters' count):
//   learner     fp32 weights 4P, the KL reference 4P (full fine-tuning with
//               beta > 0; LoRA disables its adapters instead), gradients 4T,
//               AdamW's two moments 8T, learner 0's published weight versions
//               on the elastic tier, and the activations autograd keeps for
//               one micro-batch (below), or at a save the checkpoint's
//               buffers (the policy file, whole, and with LoRA a copy of the
//               base weights while the adapters are merged);
//   rollout     weights at the inference dtype, on CPU in fp32 also the packed
//               copy of every linear layer and the LM head (packed_matmul.h),
//               the KV block pool (grpo.kv_cache_tokens, or room for its work
//               item's samples at the full prompt + completion length), one
//               engine step's activations;
//   reward      the reward model's BERT and one scoring batch;
//   retrieval   its share of the index files and the dense encoder;
//   coordinator the data set.
// Every process also holds its runtime (libtorch, Open MPI, protobuf:
// `rank_overhead`, measured on this machine class, see docs/plan.md); a
// GPU rank also a CUDA context on its device (`cuda_context`, an assumption).
//
// Learner activations: per decoder layer and token, the tensors autograd
// saves (norm outputs, q/k/v and their rotations, the attention output, the
// SwiGLU intermediates, the residual stream), plus the attention
// probabilities per head and query-key pair, plus the completion logits
// (kept three times: logits, scaled, log-softmax). With shared prompts
// (learner/policy_batch.h) a group's prompt runs once: U·P + B·C tokens
// instead of B·(P + C). Each stage's sum is multiplied by a slack for
// backward's transients and the allocator, measured on this machine class
// (below).
//
// Placement follows the launchers: ranks in order (coordinator, retrieval,
// reward, rollout, learners) fill nodes in blocks of ceil(ranks / nodes);
// on a node, the rollout workers and learners take its GPUs in turn
// (model::GpuForLocalSlot); the other roles stay on the host.
//
// Thread-safety: pure functions of their arguments (PlanMemory reads the
// models' config.json and the index directory's file sizes).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/config/train_config.h"

namespace prlm::coordinator {

struct PlanTarget {
  int64_t ranks = 0;          // world size when the config has no layout (0: the layout's, or 5)
  int64_t nodes = 1;          // hosts the ranks are spread over
  int64_t gpus_per_node = 0;  // 0: the models run on the host (model.device cpu)
  int64_t gpu_bytes = 0;      // each GPU's memory; 0 with gpus_per_node > 0: not checked
  int64_t host_bytes = 0;     // each host's memory (0: not checked)
  int64_t rank_overhead = 0;  // a process's runtime before models (0: the default below)
  int64_t cuda_context = 0;   // per GPU rank on its device (0: the default below)
};
constexpr int64_t kDefaultRankOverhead = 172LL << 20;  // a rank of this build on x86-64 Linux, measured
constexpr int64_t kDefaultCudaContext = 600LL << 20;   // CUDA context + NCCL buffers, assumed
// The measured peak over the saved tensors counted, for backward's
// transients and the allocator (docs/plan.md): fitted on two shapes of one
// model on this machine class (fp32, glibc malloc) and checked on others.
// Through the shared-prompt path the prompt stage costs about twice what is
// counted and the completion stage about a quarter; rows scored whole (sft,
// one prompt per row) about what is counted.
constexpr double kSharedPromptSlack = 2.1;
constexpr double kSharedCompletionSlack = 0.28;
constexpr double kWholeRowsSlack = 1.0;

// One part of a rank's memory ("weights", "KV cache", ...).
struct MemoryPart {
  std::string name;
  int64_t bytes = 0;
  std::string note;        // how it was counted ("fp32, 1.78B parameters")
  bool transient = false;  // held only in one phase (a step's activations, a save's buffers): the largest counts
};

// The ranks of one role, each holding `parts`.
struct RolePlan {
  std::string role;  // coordinator | retrieval | reward | rollout | learner
  int64_t first_rank = 0, ranks = 0;
  bool on_gpu = false;            // its model parts live on a GPU
  std::vector<MemoryPart> parts;  // per rank; the runtime first
  // At the peak: every lasting part and the largest transient one.
  int64_t device_bytes() const;  // on the GPU (0 unless on_gpu)
  int64_t host_bytes() const;    // on the host
};

// One device or host and what the layout puts on it.
struct PlacedMemory {
  std::string where;                // "node 0" or "node 0 GPU 1"
  int64_t bytes = 0, capacity = 0;  // capacity 0: not checked
  std::vector<std::string> ranks;   // "learner 0 (rank 4)"
  bool fits() const { return capacity == 0 || bytes <= capacity; }
};

struct MemoryPlan {
  std::string model;  // "qwen2, 1.78B parameters, 28 layers"
  std::string precision;
  config::Layout layout;
  int64_t parameters = 0, trainable = 0;
  int64_t tokens_per_step = 0;        // prompts x samples x (prompt + completion), at the limits
  int64_t learner_tokens_whole = 0;   // one micro-batch's tokens as whole rows
  int64_t learner_tokens_shared = 0;  // ... with each group's prompt run once
  std::vector<RolePlan> roles;
  std::vector<PlacedMemory> placed;
  // Model directories named but not there yet (a stage before this job makes
  // them): left out of the plan, said here.
  std::vector<std::string> missing;
  // "" when everything fits; else each device or host that does not, with
  // its largest rank's parts (what to change).
  std::string refusal;
};

// Throws util::Error naming the file or key for a config whose policy lacks
// a valid config.json, whose reward.model or retrieval.encoder exists
// without one, or a target that cannot hold the layout (nodes > ranks).
MemoryPlan PlanMemory(const config::TrainConfig& config, const PlanTarget& target);

// The plan as the console table `prlm plan` prints (brief: the placement
// lines alone), and as JSON.
std::string FormatPlan(const MemoryPlan& plan, bool brief = false);
std::string PlanJson(const MemoryPlan& plan);

// "80GiB", "512MiB", "1.5TB", "1024" (bytes) as bytes. Throws util::Error.
int64_t ParseByteSize(const std::string& text);

}  // namespace prlm::coordinator
