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
// Steps 1-3 are the shared question-answering path
// (common/rollout/answer_questions.h). What the worker produces is the
// objective's choice: for sft work (prompts_only) steps 2-3 become the target
// text, grpo.sft_template with the gold output, tokenized, ending in the stop
// token. Options: the config's retrieval, grpo, reward and lora sections.
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

#include "common/config/train_config.h"
#include "common/generation/generate.h"
#include "common/model/lora.h"
#include "common/retrieval/profile_retriever.h"
#include "common/rollout/answer_questions.h"
#include "common/text/prompt.h"
#include "common/text/tokenizer.h"
#include "proto/reward.pb.h"
#include "proto/train.pb.h"

namespace prlm::rollout_workers {

// Scores one request; the reward tier's client in a job, a scorer in tests.
using ScoreFn = std::function<proto::ScoreReply(const proto::ScoreRequest&)>;

class RolloutWorker {
 public:
  // `task` picks the PrLM template.
  RolloutWorker(model::CausalLM policy, std::shared_ptr<const text::Tokenizer> tokenizer,
                retrieval::ProfileRetriever* retriever, ScoreFn score, const config::TrainConfig& config,
                const std::string& task);

  // REQUIRES: prompts non-empty. Failures of the reward tier throw util::Error;
  // a prompt that cannot be asked (retrieval error, over budget) comes back as
  // a group with `error` set.
  proto::RolloutResult Run(const proto::RolloutWork& work);

  // Newer weights for the item in flight (grpo.partial_rollouts), asked for
  // on Run's thread before every decode step: copies a version newer than
  // `held` into TrainableParameters() and returns it, or returns -1.
  using WeightFeed = std::function<int64_t(int64_t held)>;
  void set_weight_feed(WeightFeed feed) { feed_ = std::move(feed); }

  std::vector<torch::Tensor> TrainableParameters() { return model::TrainableParameters(*policy_); }
  model::CausalLM& policy() { return policy_; }
  const config::TrainConfig& config() const { return config_; }
  int64_t weight_version() const { return weight_version_; }
  void set_weight_version(int64_t v) { weight_version_ = v; }

 private:
  model::CausalLM policy_;
  std::shared_ptr<const text::Tokenizer> tokenizer_;
  retrieval::ProfileRetriever* retriever_;
  ScoreFn score_;
  const config::TrainConfig config_;
  const text::PromptTemplate* template_;
  rollout::AnswerOptions answer_options_;
  std::string chat_origin_;  // the chat template prompts use
  int64_t weight_version_ = 0;
  WeightFeed feed_;
};

// The sft target of one example: `tmpl` with every {reasoning} = reasoning
// and every {output} = gold.
std::string SftTarget(const std::string& tmpl, const std::string& gold, const std::string& reasoning = "");

}  // namespace prlm::rollout_workers
