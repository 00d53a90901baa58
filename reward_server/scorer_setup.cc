#include "reward_server/scorer_setup.h"

#include "common/reward/reward_model.h"
#include "common/util/check.h"
#include "reward_server/personalization_reward.h"
#include "reward_server/text_rewards.h"

namespace prlm::reward {

std::unique_ptr<RewardScorer> MakeRewardScorer(const ScorerSetup& s, const std::string& prefix) {
  // "--max-batch-size" on the command line, "reward.max_batch_size" in a config.
  const auto p = [&](std::string name) {
    if (prefix != "--")
      for (char& ch : name)
        if (ch == '-') ch = '_';
    return prefix + name;
  };
  ScorerOptions o = s.options;
  PRLM_REQUIRE(o.batching.max_batch_size >= 1, p("max-batch-size") << " must be at least 1");
  PRLM_REQUIRE(o.batching.max_batch_tokens >= 0, p("max-batch-tokens") << " must be >= 0");
  PRLM_REQUIRE(o.batching.max_queue_delay.count() >= 0, p("max-queue-delay-us") << " must be >= 0");
  PRLM_REQUIRE(o.batching.executors >= 1, p("model-threads") << " must be at least 1");
  PRLM_REQUIRE(o.batching.max_queued_sequences >= 1, p("max-queued") << " must be at least 1");
  PRLM_REQUIRE(o.default_timeout_ms >= 1, p("default-timeout-ms") << " must be at least 1");
  std::vector<WeightedComponent> components;
  if (s.w_acc != 0) components.push_back({std::make_shared<AccuracyReward>(s.stem), s.w_acc});
  if (s.w_fmt != 0) components.push_back({std::make_shared<FormatReward>(), s.w_fmt});
  if (s.w_pers != 0) {
    PRLM_REQUIRE(!s.model.empty(), p("w-pers") << " is " << s.w_pers << " but no reward model was given ("
                                               << p("model") << " DIR, or " << p("w-pers") << " 0)");
    std::shared_ptr<RewardModel> rm = RewardModel::Load(s.model, s.max_length);
    PRLM_REQUIRE(!rm->new_head(), s.model << " has no reward head (classifier); train one with train-rm");
    o.reward_model = s.model;
    components.push_back({std::make_shared<PersonalizationReward>(rm, o.batching.max_batch_size), s.w_pers});
  }
  PRLM_REQUIRE(!components.empty(), "every reward weight is 0: nothing to score");
  return std::make_unique<RewardScorer>(std::move(components), o);
}

}  // namespace prlm::reward
