// Planning a training step without MPI (coordinator/step_plan.h): skipped
// questions, advantages by the objective, sequences and micro-batches per
// learner, the rollout side of the metrics; the step metrics' key mapping;
// summing learner statistics; how far work may run ahead of the update
// (grpo.max_staleness, step_schedule.h).
#include <gtest/gtest.h>

#include <map>
#include <random>
#include <set>

#include "common/config/train_config.h"
#include "common/monitor/step_metrics.h"
#include "common/objective/objective.h"
#include "coordinator/step_plan.h"
#include "coordinator/step_schedule.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

using coordinator::PlanStep;
using coordinator::StepPlanOptions;

proto::RolloutGroup RolloutGroupOf(uint64_t index, std::vector<double> rewards, int prompt_tokens = 5) {
  proto::RolloutGroup g;
  g.set_index(index);
  for (int t = 0; t < prompt_tokens; ++t) g.add_prompt(100 + t);
  for (size_t s = 0; s < rewards.size(); ++s) {
    auto* sample = g.add_samples();
    for (size_t t = 0; t <= s; ++t) sample->add_tokens(static_cast<int32_t>(t)), sample->add_logprobs(-0.5f);
    sample->set_stopped(s % 2 == 0);
    sample->set_reward(rewards[s]);
    auto* c = sample->add_components();
    c->set_name("accuracy");
    c->set_value(rewards[s] / 2);
  }
  return g;
}

std::vector<proto::RolloutResult> TwoWorkers() {
  std::vector<proto::RolloutResult> results(2);
  results[0].set_weight_version(7);
  *results[0].add_groups() = RolloutGroupOf(0, {1, 2, 3, 6});
  *results[0].add_groups() = RolloutGroupOf(1, {5, 5, 5, 5});
  auto* bad = results[0].add_groups();
  bad->set_index(2);
  bad->set_error("user u9 is not in any shard");
  results[0].set_generation_s(2.0);
  results[0].set_reward_retries(1);
  results[1].set_weight_version(6);  // one step behind (one-step-off)
  *results[1].add_groups() = RolloutGroupOf(3, {0, 1, 0, 1}, 9);
  results[1].set_generation_s(3.5);
  results[1].set_reward_retries(2);
  results[1].set_reward_queue_depth(12);
  return results;
}

config::TrainConfig Config(config::ObjectiveKind kind) {
  config::TrainConfig c;
  c.grpo.objective = kind;
  return c;
}

TEST(StepPlan, GrpoPlanHasEveryKeptSampleAdvantagesAndRolloutMetrics) {
  const auto objective = objective::MakeObjective(Config(config::ObjectiveKind::kGrpo));
  const auto results = TwoWorkers();
  const auto plan = PlanStep(results, *objective, StepPlanOptions{4, 7, 3, 2, true});
  // 1. The skipped question is counted and named.
  EXPECT_EQ(plan.metrics.skipped_questions, 1);
  EXPECT_NE(plan.first_skip.find("question 2"), std::string::npos) << plan.first_skip;
  EXPECT_NE(plan.first_skip.find("u9"), std::string::npos);
  // 2-4. Twelve sequences over two learners; the micro-batch count is global.
  ASSERT_EQ(plan.learn.size(), 2u);
  int sequences = 0, micro_batches = 0;
  std::multiset<double> advantages;
  for (const auto& l : plan.learn) {
    EXPECT_EQ(l.step(), 4);
    EXPECT_TRUE(l.sync_weights());
    EXPECT_EQ(l.global_micro_batches(), 4);  // ceil(12 / 3)
    micro_batches += l.micro_batches_size();
    for (const auto& mb : l.micro_batches()) {
      EXPECT_LE(mb.sequences_size(), 3);
      for (const auto& s : mb.sequences()) {
        ++sequences;
        advantages.insert(s.advantage());
        EXPECT_EQ(s.completion_size(), s.rollout_logprobs_size());
      }
    }
  }
  EXPECT_EQ(sequences, 12);
  EXPECT_EQ(micro_batches, 4);
  EXPECT_EQ(plan.metrics.sequences, 12);
  EXPECT_EQ(plan.metrics.micro_batches, 4);
  // The all-equal group's advantages are 0; the others are the objective's.
  objective::ScoredGroups scored;
  for (const auto& rewards : std::vector<std::vector<double>>{{1, 2, 3, 6}, {5, 5, 5, 5}, {0, 1, 0, 1}}) {
    scored.emplace_back();
    for (double r : rewards) scored.back().push_back({r, true});
  }
  const auto expected = objective->ComputeAdvantages(scored);
  std::multiset<double> want;
  for (const auto& g : expected.values) want.insert(g.begin(), g.end());
  EXPECT_EQ(advantages, want);
  // 5. Metrics of the rollout side.
  ASSERT_TRUE(plan.metrics.rewards.has_value());
  EXPECT_DOUBLE_EQ(plan.metrics.rewards->score.mean, 34.0 / 12);
  EXPECT_DOUBLE_EQ(plan.metrics.rewards->score.max, 6);
  EXPECT_DOUBLE_EQ(plan.metrics.rewards->frac_reward_zero_std, 1.0 / 3);
  ASSERT_EQ(plan.metrics.rewards->component_means.size(), 1u);
  EXPECT_DOUBLE_EQ(plan.metrics.rewards->component_means[0].second, 17.0 / 12);
  EXPECT_DOUBLE_EQ(plan.metrics.staleness_mean, 4.0 / 12);  // 4 samples one version behind
  EXPECT_DOUBLE_EQ(plan.metrics.response_clip_ratio, 0.5);
  EXPECT_DOUBLE_EQ(plan.metrics.response_length.mean, 2.5);
  EXPECT_DOUBLE_EQ(plan.metrics.prompt_length_mean, (5 + 5 + 9) / 3.0);
  EXPECT_EQ(plan.metrics.total_num_tokens, 8 * 5 + 4 * 9 + 3 * 10);
  EXPECT_DOUBLE_EQ(plan.metrics.timing.gen, 3.5) << "the slowest worker's";
  EXPECT_EQ(plan.metrics.reward_retries, 3) << "retries add up";
  EXPECT_EQ(plan.metrics.reward_queue_depth, 12);
}

// Partial rollouts: a sample's staleness is its oldest token's; a group with
// a sample older than grpo.max_staleness is dropped and counted (a worker
// that fell behind), and the step goes on with the rest.
TEST(StepPlan, StalenessIsTheOldestTokensAndStaleGroupsAreDroppedAndCounted) {
  const auto objective = objective::MakeObjective(Config(config::ObjectiveKind::kGrpo));
  std::vector<proto::RolloutResult> results(2);
  results[0].set_weight_version(8);  // started at v8, some tokens from v9
  *results[0].add_groups() = RolloutGroupOf(0, {1, 2, 3, 6});
  for (int si = 1; si < 4; ++si) {  // samples 1..3 (2..4 tokens): the last token under v9
    auto* sample = results[0].mutable_groups(0)->mutable_samples(si);
    for (int t = 0; t < sample->tokens_size(); ++t) sample->add_versions(t + 1 < sample->tokens_size() ? 8 : 9);
  }
  results[1].set_weight_version(6);  // three versions behind v9
  *results[1].add_groups() = RolloutGroupOf(1, {0, 1, 0, 1});
  StepPlanOptions o{0, 9, 4, 1, true};
  o.max_staleness = 2;
  const auto plan = PlanStep(results, *objective, o);
  EXPECT_EQ(plan.metrics.dropped_stale, 4) << "the v6 group";
  EXPECT_EQ(plan.metrics.sequences, 4);
  EXPECT_EQ(plan.metrics.partial_samples, 3);
  EXPECT_DOUBLE_EQ(plan.metrics.staleness_max, 1) << "v8 tokens learnt at v9";
  EXPECT_DOUBLE_EQ(plan.metrics.staleness_mean, 1);
  const auto json = monitor::ToJson(plan.metrics);
  EXPECT_EQ(json[monitor::keys::kDroppedStale], 4);
  EXPECT_EQ(json[monitor::keys::kPartialSamples], 3);
  // No bound (-1): the v6 group is learnt, three versions stale.
  o.max_staleness = -1;
  const auto unbounded = PlanStep(results, *objective, o);
  EXPECT_EQ(unbounded.metrics.dropped_stale, 0);
  EXPECT_DOUBLE_EQ(unbounded.metrics.staleness_max, 3);
  // Every group too stale: nothing to learn, and no error.
  o.max_staleness = 0;
  const auto none = PlanStep(results, *objective, o);
  EXPECT_EQ(none.metrics.dropped_stale, 8);
  EXPECT_TRUE(none.learn.empty());
}

TEST(StepPlan, LearnerCountChangesOnlyWhoGetsTheMicroBatches) {
  const auto objective = objective::MakeObjective(Config(config::ObjectiveKind::kGrpo));
  const auto results = TwoWorkers();
  const auto flatten = [](const coordinator::StepPlan& p) {
    std::multiset<std::string> out;
    for (const auto& l : p.learn)
      for (const auto& mb : l.micro_batches()) out.insert(mb.SerializeAsString());
    return out;
  };
  const auto one = PlanStep(results, *objective, StepPlanOptions{0, 7, 3, 1, false});
  const auto three = PlanStep(results, *objective, StepPlanOptions{0, 7, 3, 3, false});
  EXPECT_EQ(flatten(one), flatten(three));
  EXPECT_FALSE(three.learn[0].sync_weights());
}

TEST(StepPlan, DroppingZeroStdGroupsLeavesTheirSamplesOut) {
  config::TrainConfig c = Config(config::ObjectiveKind::kGrpo);
  c.grpo.drop_zero_std_groups = true;
  const auto objective = objective::MakeObjective(c);
  const auto plan = PlanStep(TwoWorkers(), *objective, StepPlanOptions{0, 7, 4, 1, true});
  EXPECT_EQ(plan.metrics.sequences, 8);
  EXPECT_EQ(plan.metrics.rewards->score.mean, 34.0 / 12) << "every sample still counts in the reward figures";
}

TEST(StepPlan, SftKeepsEveryTargetAndReportsNoRewards) {
  const auto objective = objective::MakeObjective(Config(config::ObjectiveKind::kSft));
  const auto plan = PlanStep(TwoWorkers(), *objective, StepPlanOptions{0, 7, 4, 1, true});
  EXPECT_EQ(plan.metrics.sequences, 12);
  EXPECT_FALSE(plan.metrics.rewards.has_value());
  for (const auto& mb : plan.learn[0].micro_batches())
    for (const auto& s : mb.sequences()) EXPECT_EQ(s.advantage(), 0.0);
}

TEST(StepPlan, AStepWithNoAnswerableQuestionNamesTheFirstReason) {
  const auto objective = objective::MakeObjective(Config(config::ObjectiveKind::kGrpo));
  std::vector<proto::RolloutResult> results(1);
  auto* g = results[0].add_groups();
  g->set_index(5);
  g->set_error("over the prompt budget");
  testing::ExpectErrorContaining([&] { PlanStep(results, *objective, StepPlanOptions{}); },
                                 {"step 0", "question 5", "over the prompt budget"});
}

TEST(StepSchedule, WorkAheadStaysWithinKStopsAtCheckpointsAndTheLastStep) {
  // The coordinator's loop over random schedules: step s goes out during
  // step p (with p's weights, before p's update), so its samples trail the
  // update that learns them by s - p versions.
  std::mt19937 rng(7);
  for (int trial = 0; trial < 500; ++trial) {
    const int64_t k = static_cast<int64_t>(rng() % 5), save_every = static_cast<int64_t>(rng() % 6);
    const int64_t first = static_cast<int64_t>(rng() % 4), stop_at = first + 1 + static_cast<int64_t>(rng() % 20);
    const coordinator::StepSchedule schedule(std::nullopt, save_every, stop_at, k);
    std::map<int64_t, int64_t> sent_during;  // step -> the step during which its work went out
    int64_t out_through = first - 1, last_save = -1;
    for (int64_t step = first; step < stop_at; ++step) {
      if (out_through < step) sent_during[step] = step, out_through = step;
      const bool saves = schedule.SavesAfter(schedule.At(step), step, false);
      const int64_t through = schedule.AheadThrough(step, saves);
      EXPECT_LE(through, step + k);
      EXPECT_LT(through, stop_at) << "never past the launch's last step";
      if (saves) EXPECT_EQ(through, step) << "nothing out across a checkpoint";
      while (out_through < through) sent_during[++out_through] = step;
      if (saves) last_save = step;
      // Every step out now went out after the last checkpoint before it.
      for (int64_t s = step + 1; s <= out_through; ++s) EXPECT_GT(sent_during[s], last_save) << "step " << s;
    }
    ASSERT_EQ(out_through, stop_at - 1) << "k " << k << " save_every " << save_every;
    int64_t max_lag = 0;
    for (const auto& [s, p] : sent_during) {
      EXPECT_LE(s - p, k) << "step " << s << " went out during step " << p;
      max_lag = std::max(max_lag, s - p);
    }
    if (save_every == 0 && stop_at - first > k) EXPECT_EQ(max_lag, k) << "k steps ahead are used";
  }
}

TEST(StepMetrics, EachObjectiveWritesItsOwnActorKeysInOneFixedOrder) {
  monitor::StepMetrics m;
  m.global_step = 3;
  proto::LearnerStats sums;
  sums.set_micro_batches(2);
  sums.set_pg_loss(0.5);
  sums.set_kl_loss(0.02);
  sums.set_sft_loss(3.0);
  objective::MakeObjective(Config(config::ObjectiveKind::kGrpo))->RecordStats(sums, &m);
  m.rewards = monitor::RewardMetrics();
  m.rewards->score = {0.3, 0.9, 0.1};
  m.rewards->component_means = {{"accuracy", 0.25}};
  m.rewards->frac_reward_zero_std = 0.5;
  const auto grpo = monitor::ToJson(m);
  EXPECT_DOUBLE_EQ(grpo.at("actor/pg_loss").get<double>(), 0.25);
  EXPECT_DOUBLE_EQ(grpo.at("actor/kl_loss").get<double>(), 0.01);
  EXPECT_DOUBLE_EQ(grpo.at("actor/kl_coef").get<double>(), 0.04);
  EXPECT_DOUBLE_EQ(grpo.at("critic/score/mean").get<double>(), 0.3);
  EXPECT_DOUBLE_EQ(grpo.at("reward/accuracy/mean").get<double>(), 0.25);
  EXPECT_FALSE(grpo.contains("actor/sft_loss"));
  EXPECT_EQ(grpo.begin().key(), "training/global_step");
  EXPECT_EQ((--grpo.end()).key(), "perf/throughput");
  monitor::StepMetrics s;
  objective::MakeObjective(Config(config::ObjectiveKind::kSft))->RecordStats(sums, &s);
  const auto sft = monitor::ToJson(s);
  EXPECT_DOUBLE_EQ(sft.at("actor/sft_loss").get<double>(), 1.5);
  EXPECT_FALSE(sft.contains("actor/pg_loss"));
  EXPECT_FALSE(sft.contains("critic/score/mean"));
  EXPECT_EQ(monitor::keys::RewardComponentOf("reward/format/mean"), "format");
  EXPECT_FALSE(monitor::keys::RewardComponentOf("critic/score/mean").has_value());
}

TEST(LearnerStats, EveryFieldAddsUp) {
  proto::LearnerStats a, b;
  a.set_micro_batches(2), a.set_entropy(1.5), a.set_pg_clipfrac_dual(0.25), a.set_sft_loss(1);
  b.set_micro_batches(3), b.set_entropy(0.5), b.set_pg_clipfrac_dual(0.5);
  objective::AddLearnerStats(b, &a);
  EXPECT_DOUBLE_EQ(a.micro_batches(), 5);
  EXPECT_DOUBLE_EQ(a.entropy(), 2.0);
  EXPECT_DOUBLE_EQ(a.pg_clipfrac_dual(), 0.75);
  EXPECT_DOUBLE_EQ(a.sft_loss(), 1);
}

}  // namespace
}  // namespace prlm
