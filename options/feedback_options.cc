#include "options/feedback_options.h"

#include "common/util/check.h"
#include "options/server_options.h"
#include "reward_server/scorer_setup.h"

namespace prlm::options {

FeedbackSetup::FeedbackSetup(Args& args) : flags_(&config_) {
  args.Option("model", "DIR", "", "the frozen policy (Qwen2 / Qwen3 / Llama directory)", true)
      .Option("data", "DIR", "", "LaMP-format directory", true)
      .Option("split", "NAME", "train", "train, dev or test")
      .Option("task", "NAME", "", "task, when no outputs file names it")
      .Option("out", "FILE", "", "feedback.jsonl to write", true)
      .Bind("utility", "NAME", &options.utility,
            "the scorer output that is the utility: rouge1, rouge2, rougeL,\n"
            "accuracy, similarity (with --w-sim), format, personalization")
      .Option("max-new-tokens", "N", "64", "completion limit")
      .Bind("temperature", "T", &temperature_,
            "0: greedy answers; else sample at T (seeded per question and candidate)")
      .Bind("seed", "S", &options.seed, "sampling seed")
      .Option("reward-server", "HOST:PORT", "",
              "score with this reward server (the job's reward tier) instead of\n"
              "in process; --secret-file as for the retrieval tier")
      .Bind("offset", "N", &offset_, "skip the split's first N questions (e.g. those another stage trained on)")
      .Bind("limit", "N", &limit_, "then only the first N questions (0: all)");
  flags_.Map(args, "max-prompt-tokens", "grpo.max_prompt_tokens")
      .Map(args, "open-think", "grpo.open_think")
      .Map(args, "reward-model", "reward.model")
      .Map(args, "w-sim", "reward.w_sim");
}

void FeedbackSetup::Load(const Args& args) {
  // 1. The scorer: in process unless --reward-server; no reward model, no personalization term.
  std::unique_ptr<reward_server::RewardScorer> in_process;
  flags_.Apply(args, [&] {
    if (!args.Has("reward-model")) config_.reward.w_pers = 0;
    if (!args.Has("reward-server")) in_process = reward_server::MakeRewardScorer(config_.reward);
  });
  PRLM_REQUIRE(temperature_ >= 0, "--temperature must be 0 (greedy) or positive");
  scorer = in_process ? pipeline::InProcessScorer(std::move(in_process))
                      : pipeline::RemoteScorer(net::ParseEndpoint(args.Get("reward-server")), ClientOptionsFrom(args));
  // 2. The questions.
  dataset = data::LoadLampSplit(args.Get("data"), args.Get("split"), data::TaskOrNull(args.Get("task")));
  data::KeepWindow(&dataset, offset_, limit_);
  // 3. The policy and how it answers.
  policy = LoadPolicy(args.Get("model"), args);
  options.prompt.max_prompt_tokens = static_cast<int>(config_.grpo.max_prompt_tokens);
  options.prompt.open_think = config_.grpo.open_think;
  options.prompt.chat = policy.chat;
  options.sampling.greedy = temperature_ == 0;
  options.sampling.temperature = options.sampling.greedy ? 1.0 : temperature_;
  options.sampling.max_new_tokens = args.GetInt("max-new-tokens");
  AddStopTokens(options.sampling, *policy.tokenizer, policy.model->config());
}

}  // namespace prlm::options
