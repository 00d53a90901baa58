// REST-PG's parts that need no MPI: the keep rule on hand-made candidate
// sets, the rest objective's advantages, the EM step layout, and an E-step's
// plan keeping exactly the kept samples (common/objective/rest_objective.h,
// coordinator/em_schedule.h, coordinator/step_plan.h).
#include <gtest/gtest.h>

#include "common/config/train_config.h"
#include "common/objective/rest_objective.h"
#include "coordinator/em_schedule.h"
#include "coordinator/step_plan.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

using objective::KeepCandidates;
using objective::KeepRule;
using objective::ScoredSample;

std::vector<ScoredSample> Group(std::vector<double> rewards, std::vector<bool> stopped = {}) {
  std::vector<ScoredSample> g;
  for (size_t i = 0; i < rewards.size(); ++i) g.push_back({rewards[i], stopped.empty() || stopped[i]});
  return g;
}

TEST(KeepRule, BestAboveTheThresholdTiesToTheEarlierSample) {
  const KeepRule best{0.0, 1, false};
  EXPECT_EQ(KeepCandidates(Group({0.2, 0.7, 0.5, 0.7}), best), (std::vector<size_t>{1}));
  EXPECT_EQ(KeepCandidates(Group({0.0, 0.0, 0.0}), best), (std::vector<size_t>{})) << "nothing above 0";
  const KeepRule top2{0.0, 2, false};
  EXPECT_EQ(KeepCandidates(Group({0.9, 0.1, 0.3, 0.95}), top2), (std::vector<size_t>{0, 3})) << "in sample order";
  EXPECT_EQ(KeepCandidates(Group({0.4}), top2), (std::vector<size_t>{0})) << "fewer than m";
}

TEST(KeepRule, ThresholdAloneKeepsEveryoneAboveIt) {
  const KeepRule all_above{0.5, 0, false};
  EXPECT_EQ(KeepCandidates(Group({0.5, 0.51, 0.2, 0.9, 0.6}), all_above), (std::vector<size_t>{1, 3, 4}))
      << "strictly above";
  const KeepRule negative{-1.0, 0, false};
  EXPECT_EQ(KeepCandidates(Group({0.0, -0.5, -2.0}), negative), (std::vector<size_t>{0, 1}));
}

TEST(KeepRule, TruncatedCandidatesAreDroppedUnlessAllowed) {
  const auto group = Group({0.9, 0.8, 0.3}, {false, true, true});
  EXPECT_EQ(KeepCandidates(group, KeepRule{0.0, 1, false}), (std::vector<size_t>{1}))
      << "the best one hit the length limit";
  EXPECT_EQ(KeepCandidates(group, KeepRule{0.0, 1, true}), (std::vector<size_t>{0}));
  EXPECT_EQ(KeepCandidates(Group({0.9}, {false}), KeepRule{0.0, 0, false}), (std::vector<size_t>{}));
}

TEST(RestObjective, AdvantagesMarkTheKeptSamplesAndGroupsWithNone) {
  config::RestConfig c;
  c.keep_top = 1;
  const objective::RestObjective rest(c);
  const auto a = rest.ComputeAdvantages({Group({0.1, 0.6, 0.3}), Group({0, 0, 0}), Group({0.2, 0.9}, {true, false})});
  ASSERT_EQ(a.sample_kept.size(), 3u);
  EXPECT_EQ(a.sample_kept[0], (std::vector<bool>{false, true, false}));
  EXPECT_EQ(a.values[0], (std::vector<double>{0, 1, 0}));
  EXPECT_EQ(a.kept, (std::vector<bool>{true, false, true}));
  EXPECT_EQ(a.sample_kept[2], (std::vector<bool>{true, false}));
  EXPECT_FALSE(rest.allows_one_step_off());
  EXPECT_FALSE(rest.learner_needs().reference_logprobs);
}

TEST(EmSchedule, IterationsAreCollectStepsThenUpdateSteps) {
  config::TrainConfig c;
  c.grpo.objective = config::ObjectiveKind::kRest;
  c.grpo.group_size = 4;
  c.trainer.prompts_per_step = 8;
  c.rest.iterations = 2;
  c.rest.keep_top = 1;
  const auto s = coordinator::MakeEmSchedule(c, 20);
  EXPECT_EQ(s.collect_steps, 3) << "ceil(20 / 8): every question once";
  EXPECT_EQ(s.update_steps, 3) << "one pass over 20 kept sequences";
  EXPECT_EQ(s.total_steps(), 12);
  EXPECT_EQ(s.CollectQuestions(2), (std::vector<int64_t>{16, 17, 18, 19})) << "the last step takes what is left";
  const auto p = s.At(7);  // iteration 2: steps 6, 7, 8 collect
  EXPECT_EQ(p.iteration, 1);
  EXPECT_FALSE(p.update);
  EXPECT_EQ(p.index, 1);
  const auto u = s.At(11);
  EXPECT_TRUE(u.update);
  EXPECT_EQ(u.index, 2);
  EXPECT_TRUE(s.EndsIteration(5));
  EXPECT_TRUE(s.EndsIteration(11));
  EXPECT_FALSE(s.EndsIteration(6));
  c.rest.keep_top = 0;  // all above the threshold: at most G per question
  EXPECT_EQ(coordinator::MakeEmSchedule(c, 20).update_steps, 10);
  c.rest.update_steps = 5;
  EXPECT_EQ(coordinator::MakeEmSchedule(c, 20).update_steps, 5);
}

TEST(RestConfig, KeysAreValidatedNamingTheKey) {
  testing::ExpectErrorContaining(
      [] {
        config::TrainConfig::Load(
            "", {"model.policy=p", "data.dir=d", "grpo.objective=rest", "reward.w_pers=0", "trainer.total_steps=5"});
      },
      {"trainer.total_steps", "rest.iterations"});
  testing::ExpectErrorContaining(
      [] {
        config::TrainConfig::Load("", {"model.policy=p", "data.dir=d", "rest.init=latest"});
      },
      {"rest.init", "base"});
  const auto c = config::TrainConfig::Load("", {"model.policy=p", "data.dir=d", "grpo.objective=rest",
                                                "grpo.group_size=1", "reward.w_pers=0", "rest.init=previous"});
  EXPECT_EQ(c.rest.init, config::RestInit::kPrevious);
}

TEST(RestPlan, AnEStepKeepsOnlyTheKeptSamplesAndCountsThem) {
  proto::RolloutResult r;
  const std::vector<std::vector<double>> rewards = {{0.1, 0.6, 0.3}, {0, 0, 0}};
  for (size_t g = 0; g < rewards.size(); ++g) {
    auto* group = r.add_groups();
    group->set_index(g);
    group->add_prompt(7);
    for (size_t s = 0; s < rewards[g].size(); ++s) {
      auto* sample = group->add_samples();
      sample->add_tokens(static_cast<int32_t>(10 * g + s));
      sample->add_logprobs(-1);
      sample->set_stopped(true);
      sample->set_reward(rewards[g][s]);
    }
  }
  config::TrainConfig c;
  c.grpo.objective = config::ObjectiveKind::kRest;
  std::vector<proto::TrainSequence> kept;
  const auto plan = coordinator::PlanSequences({r}, *objective::MakeObjective(c), {}, &kept);
  ASSERT_EQ(kept.size(), 1u);
  EXPECT_EQ(kept[0].completion(0), 1) << "group 0's best sample";
  EXPECT_TRUE(plan.learn.empty());
  ASSERT_TRUE(plan.metrics.rewards && plan.metrics.rewards->kept_score);
  EXPECT_EQ(plan.metrics.rewards->kept, 1);
  EXPECT_EQ(plan.metrics.rewards->samples, 6);
  EXPECT_DOUBLE_EQ(plan.metrics.rewards->kept_score->mean, 0.6);
  // M-step: the kept sequences dealt alone, with their figures.
  const auto update = coordinator::PlanKeptSequences({kept[0], kept[0]}, {3, 0, 1, 2, true});
  EXPECT_EQ(update.metrics.sequences, 2);
  EXPECT_EQ(update.metrics.micro_batches, 2);
  EXPECT_EQ(update.metrics.total_num_tokens, 4);
  EXPECT_EQ(update.learn.size(), 2u);
}

}  // namespace
}  // namespace prlm
