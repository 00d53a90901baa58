// A rollout worker's step: for the prompts the coordinator hands it,
//   1. fetch each user's top-k profile from the retrieval tier and build the
//      PrLM prompt (profile cut to the token budget);
//   2. generate G samples per prompt in one batch (the prompt is prefilled
//      once, each sample draws from its own seeded stream: seed(run seed,
//      step, prompt index, sample), so samples do not depend on which worker
//      or batch drew them);
//   3. have the reward tier score every sample (one request for the step);
//   4. report tokens, sampler log-probs, rewards and every reward component,
//      stamped with the weight version that generated them.
// For sft work (prompts_only) steps 2-3 become: the target text is the
// template with the gold output, tokenized, ending in the stop token.
//
// The worker's policy has the learners' structure (LoRA applied alike), so
// TrainableParameters() lines up tensor for tensor with the learner's for
// weight sync.
//
// Thread-safety: one Run() at a time.
#pragma once

#include <torch/torch.h>

#include <functional>
#include <memory>
#include <string>

#include "common/model/generation.h"
#include "common/model/lora.h"
#include "common/retrieval/profile_retriever.h"
#include "common/text/prompt.h"
#include "common/text/tokenizer.h"
#include "proto/reward.pb.h"
#include "proto/train.pb.h"

namespace prlm::rollout {

constexpr const char* kDefaultSftTemplate =
    "<think>\nThe user's past writing shows the style to follow.\n</think>\n<answer>{output}</answer>";

// Scores one request; the reward tier's client in a job, a scorer in tests.
using ScoreFn = std::function<proto::ScoreReply(const proto::ScoreRequest&)>;

struct RolloutOptions {
  std::string task;                 // picks the PrLM template
  std::string retriever = "bm25";
  int k = 5;
  int max_prompt_tokens = 512;
  bool open_think = false;
  int group_size = 4;
  model::SamplingParams sampling;   // max_new_tokens, temperature, top-p/k; stop ids filled from the policy
  uint64_t seed = 42;
  uint32_t reward_timeout_ms = 30000;
  // sft: the target; "{output}" becomes the gold output.
  std::string sft_template = kDefaultSftTemplate;
  bool lora = false;
  model::LoraOptions lora_options;
};

class RolloutWorker {
 public:
  RolloutWorker(model::Qwen2ForCausalLM policy, std::shared_ptr<const text::Tokenizer> tokenizer,
                retrieval::ProfileRetriever* retriever, ScoreFn score, RolloutOptions options);

  // REQUIRES: prompts non-empty. Failures of the reward tier throw prlm::Error;
  // a prompt that cannot be asked (retrieval error, over budget) comes back as
  // a group with `error` set.
  proto::RolloutResult Run(const proto::RolloutWork& work);

  std::vector<torch::Tensor> TrainableParameters();
  model::Qwen2ForCausalLM& policy() { return policy_; }
  int64_t weight_version() const { return weight_version_; }
  void set_weight_version(int64_t v) { weight_version_ = v; }

 private:
  model::Qwen2ForCausalLM policy_;
  std::shared_ptr<const text::Tokenizer> tokenizer_;
  retrieval::ProfileRetriever* retriever_;
  ScoreFn score_;
  RolloutOptions options_;
  const text::PromptTemplate* template_;
  int64_t weight_version_ = 0;
};

// The sft target of one example: `tmpl` with every {output} = gold.
std::string SftTarget(const std::string& tmpl, const std::string& gold);

}  // namespace prlm::rollout
