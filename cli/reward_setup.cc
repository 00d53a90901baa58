#include "cli/reward_setup.h"

#include "common/reward/reward_model.h"
#include "common/util/check.h"
#include "reward_server/personalization_reward.h"
#include "reward_server/text_rewards.h"

namespace prlm::cli {

void AddRewardOptions(Args& args) {
  args.Option("model", "DIR", "", "reward model directory (train-rm); needed unless --w-pers 0")
      .Option("w-acc", "X", "1.0", "weight of accuracy (ROUGE-1 + ROUGE-2 + ROUGE-L F vs gold)")
      .Option("w-fmt", "X", "0.1", "weight of format (<think>...</think> then an answer)")
      .Option("w-pers", "X", "0.1", "weight of personalization (sigmoid of the reward model)")
      .Flag("stem", "Porter-stem tokens before ROUGE")
      .Option("max-length", "N", "512", "reward-model tokens per (query, answer)")
      .Option("max-batch-size", "N", "32", "sequences per reward-model batch")
      .Option("max-batch-tokens", "N", "0", "tokens per batch (0: no limit)")
      .Option("max-queue-delay-us", "US", "2000", "longest a request waits for others to share its batch")
      .Option("model-threads", "N", "1", "threads running batches")
      .Option("default-timeout-ms", "MS", "30000", "deadline of requests that give none")
      .Option("max-queued", "N", "65536", "sequences queued at most (beyond: OVERLOADED)");
}

std::unique_ptr<reward::RewardScorer> MakeRewardScorer(const Args& args, int64_t max_batch_size) {
  const double w_acc = args.GetDouble("w-acc"), w_fmt = args.GetDouble("w-fmt"), w_pers = args.GetDouble("w-pers");
  reward::ScorerOptions o;
  o.batching.max_batch_size = max_batch_size > 0 ? max_batch_size : args.GetInt("max-batch-size");
  o.batching.max_batch_tokens = args.GetInt("max-batch-tokens");
  o.batching.max_queue_delay = std::chrono::microseconds(args.GetInt("max-queue-delay-us"));
  o.batching.executors = args.GetInt("model-threads");
  o.batching.max_queued_sequences = args.GetInt("max-queued");
  o.default_timeout_ms = static_cast<uint32_t>(args.GetInt("default-timeout-ms"));
  PRLM_REQUIRE(o.batching.max_batch_size >= 1, "--max-batch-size must be at least 1");
  PRLM_REQUIRE(o.batching.max_batch_tokens >= 0, "--max-batch-tokens must be >= 0");
  PRLM_REQUIRE(o.batching.max_queue_delay.count() >= 0, "--max-queue-delay-us must be >= 0");
  PRLM_REQUIRE(o.batching.executors >= 1, "--model-threads must be at least 1");
  PRLM_REQUIRE(o.batching.max_queued_sequences >= 1, "--max-queued must be at least 1");
  PRLM_REQUIRE(o.default_timeout_ms >= 1, "--default-timeout-ms must be at least 1");
  std::vector<reward::WeightedComponent> components;
  if (w_acc != 0) components.push_back({std::make_shared<reward::AccuracyReward>(args.GetFlag("stem")), w_acc});
  if (w_fmt != 0) components.push_back({std::make_shared<reward::FormatReward>(), w_fmt});
  if (w_pers != 0) {
    PRLM_REQUIRE(args.Has("model"), "--w-pers is " << w_pers << " but no reward model was given (--model DIR, "
                                                   "or --w-pers 0)");
    std::shared_ptr<reward::RewardModel> rm = reward::RewardModel::Load(args.Get("model"), args.GetInt("max-length"));
    PRLM_REQUIRE(!rm->new_head(), args.Get("model") << " has no reward head (classifier); train one with train-rm");
    o.reward_model = args.Get("model");
    components.push_back({std::make_shared<reward::PersonalizationReward>(rm, o.batching.max_batch_size), w_pers});
  }
  PRLM_REQUIRE(!components.empty(), "every reward weight is 0: nothing to score");
  return std::make_unique<reward::RewardScorer>(std::move(components), o);
}

}  // namespace prlm::cli
