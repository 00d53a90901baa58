#include "cli/reward_setup.h"

#include "reward_server/scorer_setup.h"

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
  reward::ScorerSetup s;
  s.w_acc = args.GetDouble("w-acc");
  s.w_fmt = args.GetDouble("w-fmt");
  s.w_pers = args.GetDouble("w-pers");
  s.model = args.Has("model") ? args.Get("model") : "";
  s.max_length = args.GetInt("max-length");
  s.stem = args.GetFlag("stem");
  auto& o = s.options;
  o.batching.max_batch_size = max_batch_size > 0 ? max_batch_size : args.GetInt("max-batch-size");
  o.batching.max_batch_tokens = args.GetInt("max-batch-tokens");
  o.batching.max_queue_delay = std::chrono::microseconds(args.GetInt("max-queue-delay-us"));
  o.batching.executors = args.GetInt("model-threads");
  o.batching.max_queued_sequences = args.GetInt("max-queued");
  o.default_timeout_ms = static_cast<uint32_t>(args.GetInt("default-timeout-ms"));
  return reward::MakeRewardScorer(s);
}

}  // namespace prlm::cli
