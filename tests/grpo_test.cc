// GRPO's math on small hand-computed cases: group advantages (std with
// Bessel's correction, batch scaling, Dr. GRPO, all-equal groups), the clipped
// loss with k1/k2/k3 KL and its aggregations, dual clip, gradients, the
// completion mask with EOS, the off-policy corrections (weights, caps, masks,
// their place in the loss), and the learning-rate schedules.
#include <gtest/gtest.h>

#include <cmath>

#include "common/config/train_config.h"
#include "common/objective/advantages.h"
#include "common/objective/grpo_loss.h"
#include "common/objective/grpo_objective.h"
#include "common/objective/micro_batch_logprobs.h"
#include "common/objective/off_policy_correction.h"
#include "common/objective/rollout_mismatch.h"
#include "learner/lr_schedule.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

using objective::AdvantageOptions;
using objective::ComputeAdvantages;
using objective::ComputeGrpoLoss;
using objective::GrpoLossOptions;
using testing::ExpectErrorContaining;

TEST(Advantages, GroupStdWithBesselCorrection) {
  // Group {1, 2, 3, 6}: mean 3, sample variance (4 + 1 + 0 + 9) / 3 = 14/3.
  const auto a = ComputeAdvantages({{1, 2, 3, 6}, {5, 5, 5, 5}}, AdvantageOptions());
  const double std = std::sqrt(14.0 / 3.0);
  ASSERT_EQ(a.values.size(), 2u);
  EXPECT_NEAR(a.values[0][0], -2 / (std + 1e-4), 1e-12);
  EXPECT_NEAR(a.values[0][3], 3 / (std + 1e-4), 1e-12);
  // An all-equal group: advantages 0, counted, kept unless dropping is asked.
  for (double v : a.values[1]) EXPECT_EQ(v, 0.0);
  EXPECT_DOUBLE_EQ(a.frac_reward_zero_std, 0.5);
  EXPECT_TRUE(a.kept[1]);
  AdvantageOptions drop;
  drop.drop_zero_std_groups = true;
  const auto d = ComputeAdvantages({{1, 2, 3, 6}, {5, 5, 5, 5}}, drop);
  EXPECT_TRUE(d.kept[0]);
  EXPECT_FALSE(d.kept[1]);
}

TEST(Advantages, BatchScalingAndDrGrpo) {
  const std::vector<std::vector<double>> r = {{0, 2}, {1, 1}};
  // Batch {0, 2, 1, 1}: mean 1, sample variance (1 + 1 + 0 + 0) / 3.
  AdvantageOptions batch;
  batch.scaling = config::AdvantageScaling::kBatchStd;
  const auto b = ComputeAdvantages(r, batch);
  EXPECT_NEAR(b.values[0][0], -1 / (std::sqrt(2.0 / 3.0) + 1e-4), 1e-12);
  EXPECT_EQ(b.values[1][0], 0.0);
  AdvantageOptions none;
  none.scaling = config::AdvantageScaling::kNone;
  const auto n = ComputeAdvantages(r, none);
  EXPECT_EQ(n.values[0], std::vector<double>({-1, 1}));
  // One sample per group has no std: refused unless scaling is none.
  ExpectErrorContaining([] { ComputeAdvantages({{1}}, AdvantageOptions()); }, {"group 0", "at least 2"});
  EXPECT_EQ(ComputeAdvantages({{1}}, none).values[0][0], 0.0);
}

// Two completions, three token slots; the second has one real token.
struct Case {
  torch::Tensor logp, old_logp, ref_logp, adv, mask;
};

Case SmallCase() {
  Case c;
  c.old_logp = torch::tensor({{-1.0, -2.0, -0.5}, {-1.0, 0.0, 0.0}}, torch::kDouble);
  // ratios: 1.5 (clipped for A>0), 1.1, 1.0 | 0.5 (clipped for A<0)
  c.logp = (c.old_logp + torch::log(torch::tensor({{1.5, 1.1, 1.0}, {0.5, 1.0, 1.0}}, torch::kDouble)))
               .set_requires_grad(true);
  c.ref_logp = torch::tensor({{-1.0, -1.5, -0.5}, {-2.0, 0.0, 0.0}}, torch::kDouble);
  c.adv = torch::tensor({1.0, -1.0}, torch::kDouble);
  c.mask = torch::tensor({{1.0, 1.0, 1.0}, {1.0, 0.0, 0.0}}, torch::kDouble);
  return c;
}

double K3(double logp, double ref) { return std::exp(ref - logp) - (ref - logp) - 1; }

TEST(GrpoLoss, HandComputedTokenMeanWithK3) {
  Case c = SmallCase();
  GrpoLossOptions o;
  const auto out = ComputeGrpoLoss(c.logp, c.old_logp, c.ref_logp, c.adv, c.mask, o);
  // Policy terms: -min(1.5, 1.2) = -1.2; -1.1; -1.0; A = -1, ratio 0.5: -min(-0.5, -0.8) = 0.8.
  const double pg[4] = {-1.2, -1.1, -1.0, 0.8};
  const auto lp = c.logp.detach();
  const double kl[4] = {K3(lp[0][0].item<double>(), -1.0), K3(lp[0][1].item<double>(), -1.5),
                        K3(lp[0][2].item<double>(), -0.5), K3(lp[1][0].item<double>(), -2.0)};
  double expect = 0, expect_kl = 0;
  for (int i = 0; i < 4; ++i) expect += pg[i] + 0.04 * kl[i], expect_kl += kl[i];
  EXPECT_NEAR(out.loss.item<double>(), expect / 4, 1e-12);
  EXPECT_NEAR(out.pg_loss, (-1.2 - 1.1 - 1.0 + 0.8) / 4, 1e-12);
  EXPECT_NEAR(out.kl, expect_kl / 4, 1e-12);
  EXPECT_EQ(out.tokens, 4);
  EXPECT_NEAR(out.clipfrac, 0.5, 1e-12);  // tokens 1 and 4 took the clipped branch
  EXPECT_NEAR(out.ppo_kl, -(std::log(1.5) + std::log(1.1) + std::log(0.5)) / 4, 1e-12);
  // Gradient: clipped tokens give the policy term none; the others -A * ratio / N.
  out.loss.backward();
  const auto g = c.logp.grad();
  const auto kl_grad = [&](double logp, double ref) { return 0.04 * (1 - std::exp(ref - logp)) / 4; };
  EXPECT_NEAR(g[0][0].item<double>(), kl_grad(lp[0][0].item<double>(), -1.0), 1e-12);
  EXPECT_NEAR(g[0][1].item<double>(), -1.1 / 4 + kl_grad(lp[0][1].item<double>(), -1.5), 1e-12);
  EXPECT_NEAR(g[1][1].item<double>(), 0.0, 1e-15);  // padding
}

TEST(GrpoLoss, AggregationsEstimatorsAndDualClip) {
  Case c = SmallCase();
  GrpoLossOptions o;
  o.beta = 0;
  o.aggregation = config::LossAggregation::kSequenceMean;
  auto seq = ComputeGrpoLoss(c.logp, c.old_logp, torch::Tensor(), c.adv, c.mask, o);
  EXPECT_NEAR(seq.loss.item<double>(), ((-1.2 - 1.1 - 1.0) / 3 + 0.8) / 2, 1e-12);
  o.aggregation = config::LossAggregation::kConstant;
  o.max_completion_length = 8;
  auto constant = ComputeGrpoLoss(c.logp, c.old_logp, torch::Tensor(), c.adv, c.mask, o);
  EXPECT_NEAR(constant.loss.item<double>(), (-1.2 - 1.1 - 1.0 + 0.8) / (2 * 8), 1e-12);
  // k1 and k2 against the reference.
  GrpoLossOptions k;
  k.kl = config::KlEstimator::kK1;
  const auto lp = c.logp.detach();
  double k1 = 0, k2 = 0;
  const double ref[4] = {-1.0, -1.5, -0.5, -2.0};
  const double l[4] = {lp[0][0].item<double>(), lp[0][1].item<double>(), lp[0][2].item<double>(),
                       lp[1][0].item<double>()};
  for (int i = 0; i < 4; ++i) k1 += l[i] - ref[i], k2 += 0.5 * (l[i] - ref[i]) * (l[i] - ref[i]);
  EXPECT_NEAR(ComputeGrpoLoss(c.logp, c.old_logp, c.ref_logp, c.adv, c.mask, k).kl, k1 / 4, 1e-12);
  k.kl = config::KlEstimator::kK2;
  EXPECT_NEAR(ComputeGrpoLoss(c.logp, c.old_logp, c.ref_logp, c.adv, c.mask, k).kl, k2 / 4, 1e-12);
  // Dual clip: A = -1 with ratio 5 would cost 5; c = 3 caps it at 3.
  auto big = torch::tensor({{std::log(5.0)}}, torch::kDouble).set_requires_grad(true);
  GrpoLossOptions dual;
  dual.beta = 0;
  dual.dual_clip_c = 3;
  const auto one = torch::zeros({1, 1}, torch::kDouble), neg = torch::tensor({-1.0}, torch::kDouble);
  const auto ones = torch::ones({1, 1}, torch::kDouble);
  EXPECT_NEAR(ComputeGrpoLoss(big, one, torch::Tensor(), neg, ones, dual).loss.item<double>(), 3.0, 1e-12);
  EXPECT_NEAR(ComputeGrpoLoss(big, one, torch::Tensor(), neg, ones, dual).dual_clipfrac, 1.0, 1e-12);
  dual.dual_clip_c = 0;
  EXPECT_NEAR(ComputeGrpoLoss(big, one, torch::Tensor(), neg, ones, dual).loss.item<double>(), 5.0, 1e-12);
}

TEST(GrpoLoss, AllEqualGroupLeavesOnlyKlAndSingleTokenWorks) {
  // Zero advantages (an all-equal group): the policy term vanishes, KL remains.
  auto logp = torch::tensor({{-0.7}}, torch::kDouble).set_requires_grad(true);
  const auto old_logp = logp.detach().clone(), ref = torch::tensor({{-0.2}}, torch::kDouble);
  const auto out = ComputeGrpoLoss(logp, old_logp, ref, torch::zeros({1}, torch::kDouble),
                                   torch::ones({1, 1}, torch::kDouble), GrpoLossOptions());
  EXPECT_EQ(out.pg_loss, 0.0);
  EXPECT_NEAR(out.loss.item<double>(), 0.04 * K3(-0.7, -0.2), 1e-12);
  EXPECT_EQ(out.tokens, 1);
  // mu = 1: old == current, so the ratio is 1 and the gradient is -A / N.
  auto lp2 = torch::tensor({{-0.7}}, torch::kDouble).set_requires_grad(true);
  GrpoLossOptions no_kl;
  no_kl.beta = 0;
  ComputeGrpoLoss(lp2, lp2.detach(), torch::Tensor(), torch::tensor({2.0}, torch::kDouble),
                  torch::ones({1, 1}, torch::kDouble), no_kl)
      .loss.backward();
  EXPECT_NEAR(lp2.grad().item<double>(), -2.0, 1e-12);
}

TEST(GrpoLoss, CompletionMaskStopsAfterTheFirstEos) {
  const auto tokens = torch::tensor({{5, 9, 7, 9}, {9, 1, 1, 0}, {4, 4, 0, 0}});
  const auto mask = objective::CompletionMask(tokens, {4, 3, 2}, {9});
  // Row 0: EOS at 1 is kept, after it nothing; row 1: EOS first; row 2: no EOS, length 2.
  EXPECT_TRUE(torch::equal(mask, torch::tensor({{1.f, 1.f, 0.f, 0.f}, {1.f, 0.f, 0.f, 0.f}, {1.f, 1.f, 0.f, 0.f}})));
}

// The sampler-vs-learner estimates (verl's rollout_corr definitions) by
// hand: tokens with pi_learner 0.5 and 0.25 where the sampler had 0.25 and
// 0.25, and a masked third token that must not count. r = (ln 2, 0),
// w = (2, 1): kl = mean(-r) = -ln2/2; k3 = mean(w - 1 - r) = (1 - ln2)/2;
// ess = mean(w)^2 / mean(w^2) = 1.5^2 / 2.5 = 0.9; |dp| = (0.25, 0).
TEST(RolloutMismatch, HandComputedEstimatesAndLearnersAddUp) {
  const auto logs = [](std::vector<double> p) { return torch::tensor(p, torch::kDouble).log().view({1, 3}); };
  const auto learner = logs({0.5, 0.25, 0.9}), sampler = logs({0.25, 0.25, 0.01});
  const auto mask = torch::tensor({1.0, 1.0, 0.0}).view({1, 3});
  proto::RolloutMismatch sums;
  objective::AddRolloutMismatch(learner, sampler, mask, &sums);
  EXPECT_EQ(sums.tokens(), 2);
  const auto m = objective::SummarizeRolloutMismatch(sums);
  EXPECT_NEAR(m.kl, -std::log(2.0) / 2, 1e-12);
  EXPECT_NEAR(m.k3_kl, (1 - std::log(2.0)) / 2, 1e-12);
  EXPECT_NEAR(m.ess, 0.9, 1e-12);
  EXPECT_NEAR(m.probs_diff_mean, 0.125, 1e-12);
  EXPECT_NEAR(m.probs_diff_max, 0.25, 1e-12);
  // Two learners holding one token each add up to the same figures.
  proto::RolloutMismatch first, second, merged;
  objective::AddRolloutMismatch(learner, sampler, torch::tensor({1.0, 0.0, 0.0}).view({1, 3}), &first);
  objective::AddRolloutMismatch(learner, sampler, torch::tensor({0.0, 1.0, 0.0}).view({1, 3}), &second);
  objective::MergeRolloutMismatch(first, &merged);
  objective::MergeRolloutMismatch(second, &merged);
  const auto both = objective::SummarizeRolloutMismatch(merged);
  EXPECT_NEAR(both.kl, m.kl, 1e-12);
  EXPECT_NEAR(both.ess, m.ess, 1e-12);
  EXPECT_NEAR(both.probs_diff_max, m.probs_diff_max, 1e-12);
  // Identical log-probs: no mismatch at all.
  proto::RolloutMismatch same;
  objective::AddRolloutMismatch(learner, learner, mask, &same);
  const auto none = objective::SummarizeRolloutMismatch(same);
  EXPECT_EQ(none.kl, 0);
  EXPECT_EQ(none.k3_kl, 0);
  EXPECT_EQ(none.ess, 1);
}

// Two sequences of three slots; importance weights w = exp(prox - behav):
// row 0: 2, 0.25, 8; row 1: 1.5, 1 and padding (whose w of 100 must count nowhere).
struct WeightCase {
  torch::Tensor prox, behav, mask;
};
WeightCase Weights() {
  WeightCase c;
  c.behav = torch::tensor({{-1.0, -2.0, -3.0}, {-0.5, -1.0, -1.0}}, torch::kDouble);
  c.prox = c.behav + torch::log(torch::tensor({{2.0, 0.25, 8.0}, {1.5, 1.0, 100.0}}, torch::kDouble));
  c.mask = torch::tensor({{1.0, 1.0, 1.0}, {1.0, 1.0, 0.0}}, torch::kDouble);
  return c;
}

void ExpectTensorNear(const torch::Tensor& got, std::vector<double> want, const std::string& what) {
  const auto flat = got.to(torch::kDouble).flatten();
  ASSERT_EQ(flat.numel(), static_cast<int64_t>(want.size())) << what;
  for (size_t i = 0; i < want.size(); ++i)
    EXPECT_NEAR(flat[i].item<double>(), want[i], 1e-12) << what << " [" << i << "]";
}

TEST(OffPolicyCorrection, HandComputedWeightsCapsAndMasksPerMethod) {
  using config::OffPolicyCorrection;
  const WeightCase c = Weights();
  const auto run = [&](OffPolicyCorrection method, double cap, double low = 0.5, double high = 5.0) {
    return objective::ComputeOffPolicyWeights(c.prox, c.behav, c.mask, {method, cap, low, high});
  };
  // decoupled (AReaL): w, with tokens over the cap filtered to 0 (still in the denominator).
  auto w = run(OffPolicyCorrection::kDecoupled, 5);
  ExpectTensorNear(w.weight, {2, 0.25, 0, 1.5, 1, 1}, "decoupled");
  ExpectTensorNear(w.mask, {1, 1, 1, 1, 1, 0}, "decoupled keeps the mask");
  EXPECT_EQ(w.tokens, 5);
  EXPECT_EQ(w.capped, 1);
  // tis_token: min(w, 2); a weight of exactly the cap is not capped.
  w = run(OffPolicyCorrection::kTisToken, 2);
  ExpectTensorNear(w.weight, {2, 0.25, 2, 1.5, 1, 1}, "tis_token");
  EXPECT_EQ(w.capped, 1);
  // tis_sequence: row 0's product 2 * 0.25 * 8 = 4 -> 2 on all its tokens; row 1's 1.5 (padding left out).
  w = run(OffPolicyCorrection::kTisSequence, 2);
  ExpectTensorNear(w.weight, {2, 2, 2, 1.5, 1.5, 1.5}, "tis_sequence");
  EXPECT_EQ(w.capped, 3);
  // mask_token [0.5, 5]: 0.25 and 8 leave the loss.
  w = run(OffPolicyCorrection::kMaskToken, 0);
  EXPECT_FALSE(w.weight.defined());
  ExpectTensorNear(w.mask, {1, 0, 0, 1, 1, 0}, "mask_token");
  EXPECT_EQ(w.capped, 2);
  // mask_sequence: geometric means 4^(1/3) = 1.587 and 1.5^(1/2) = 1.225; [0.5, 5] keeps both, [0.5, 1.5] drops row 0.
  w = run(OffPolicyCorrection::kMaskSequence, 0);
  ExpectTensorNear(w.mask, {1, 1, 1, 1, 1, 0}, "mask_sequence [0.5, 5]");
  EXPECT_EQ(w.capped, 0);
  w = run(OffPolicyCorrection::kMaskSequence, 0, 0.5, 1.5);
  ExpectTensorNear(w.mask, {0, 0, 0, 1, 1, 0}, "mask_sequence [0.5, 1.5]");
  EXPECT_EQ(w.capped, 3);
  // The sampler equal to the learner: every weight 1, nothing capped or masked.
  for (auto method :
       {OffPolicyCorrection::kDecoupled, OffPolicyCorrection::kTisToken, OffPolicyCorrection::kTisSequence,
        OffPolicyCorrection::kMaskToken, OffPolicyCorrection::kMaskSequence}) {
    const auto same = objective::ComputeOffPolicyWeights(c.prox, c.prox, c.mask, {method, 2, 0.5, 5});
    if (same.weight.defined()) ExpectTensorNear(same.weight, {1, 1, 1, 1, 1, 1}, "w = 1");
    ExpectTensorNear(same.mask, {1, 1, 1, 1, 1, 0}, "mask kept");
    EXPECT_EQ(same.capped, 0);
  }
}

TEST(OffPolicyCorrection, AutoIsDecoupledOnlyForStaleRecomputedSamplesAndCapsDefaultPerMethod) {
  using config::OffPolicyCorrection;
  config::GrpoConfig g;
  EXPECT_EQ(objective::OffPolicyOptionsOf(g).method, OffPolicyCorrection::kNone) << "k = 0: today's path";
  g.max_staleness = 1;
  auto o = objective::OffPolicyOptionsOf(g);
  EXPECT_EQ(o.method, OffPolicyCorrection::kDecoupled);
  EXPECT_EQ(o.cap, 5.0) << "AReaL's behav_imp_weight_cap in its example configs";
  g.old_logprobs = "rollout";
  EXPECT_EQ(objective::OffPolicyOptionsOf(g).method, OffPolicyCorrection::kNone)
      << "the sampler's log-probs are the old policy's: nothing to correct";
  g.old_logprobs = "recompute";
  g.off_policy = OffPolicyCorrection::kTisToken;
  EXPECT_EQ(objective::OffPolicyOptionsOf(g).cap, 2.0) << "verl's rollout_is_threshold";
  g.is_cap = 3;
  EXPECT_EQ(objective::OffPolicyOptionsOf(g).cap, 3.0);
  // Refused by name: a correction with the sampler's log-probs as the old ones, a cap <= 1, a bad interval.
  config::TrainConfig t;
  t.model.policy = "/models/qwen";
  t.data.dir = "/data/lamp4";
  t.reward.model = "/models/rm";
  EXPECT_NO_THROW(t.Validate(0));
  t.grpo.off_policy = OffPolicyCorrection::kDecoupled;
  t.grpo.old_logprobs = "rollout";
  ExpectErrorContaining([&] { t.Validate(0); }, {"grpo.off_policy", "grpo.old_logprobs=recompute"});
  t.grpo.old_logprobs = "recompute";
  t.grpo.is_cap = 0.9;
  ExpectErrorContaining([&] { t.Validate(0); }, {"grpo.is_cap"});
  t.grpo.is_cap = 0;
  t.grpo.is_mask_low = 1.2;
  ExpectErrorContaining([&] { t.Validate(0); }, {"grpo.is_mask_low"});
  t.grpo.is_mask_low = 0.5;
  t.grpo.max_staleness = 2;
  // (TrainConfig::Load chooses the elastic tier when the key is unset: here it says false.)
  ExpectErrorContaining([&] { t.Validate(0); }, {"grpo.max_staleness", "rollout.elastic=false refuses it"});
  t.rollout.elastic = true;
  EXPECT_NO_THROW(t.Validate(0));
  // Partial rollouts need weights that can come mid-item: elastic and k >= 1.
  t.grpo.partial_rollouts = config::PartialRollouts::kContinue;
  EXPECT_NO_THROW(t.Validate(0));
  t.grpo.max_staleness = 0;
  ExpectErrorContaining([&] { t.Validate(0); }, {"grpo.partial_rollouts", "grpo.max_staleness >= 1"});
  t.grpo.max_staleness = 1;
  t.rollout.elastic = false;
  ExpectErrorContaining([&] { t.Validate(0); }, {"grpo.partial_rollouts", "rollout.elastic=false refuses it"});
}

TEST(OffPolicyCorrection, TheWeightMultipliesThePolicyTermAfterTheClipsAndTheObjectiveCountsCaps) {
  // SmallCase's policy terms are -1.2, -1.1, -1.0 | 0.8 (pg_loss -0.375 over 4 tokens).
  Case c = SmallCase();
  GrpoLossOptions o;
  o.beta = 0;
  const auto weight = torch::tensor({{2.0, 1.0, 0.5}, {3.0, 7.0, 7.0}}, torch::kDouble);
  const auto out = ComputeGrpoLoss(c.logp, c.old_logp, c.ref_logp, c.adv, c.mask, o, weight);
  EXPECT_NEAR(out.pg_loss, (-2.4 - 1.1 - 0.5 + 2.4) / 4, 1e-12);
  out.loss.backward();
  // Token 2 (ratio 1.1, unclipped): d/dlogp of -A * ratio * w / N = -1.1 * 1 / 4.
  EXPECT_NEAR(c.logp.grad()[0][1].item<double>(), -1.1 / 4, 1e-12);
  // Token 3 (ratio 1, w 0.5): -1 * 0.5 / 4.
  EXPECT_NEAR(c.logp.grad()[0][2].item<double>(), -0.5 / 4, 1e-12);
  // Through the objective: tis_token at cap 2 against a sampler that put
  // log-prob 1 lower on token 1 (w = e) and equal elsewhere: one token capped.
  config::GrpoConfig g;
  g.beta = 0;
  g.off_policy = config::OffPolicyCorrection::kTisToken;
  const objective::GrpoObjective grpo(g);
  EXPECT_TRUE(grpo.learner_needs().behaviour_logprobs);
  Case d = SmallCase();
  const auto behav = d.old_logp - torch::tensor({{1.0, 0.0, 0.0}, {0.0, 0.0, 0.0}}, torch::kDouble);
  proto::LearnerStats sums;
  grpo.Loss(objective::MicroBatchLogprobs{d.logp, d.old_logp, behav, {}, d.adv, d.mask}, &sums);
  EXPECT_EQ(sums.is_tokens(), 4);
  EXPECT_EQ(sums.is_capped_tokens(), 1);
  monitor::StepMetrics m;
  sums.set_micro_batches(1);
  grpo.RecordStats(sums, &m);
  ASSERT_TRUE(m.actor.is_capped_fraction.has_value());
  EXPECT_DOUBLE_EQ(*m.actor.is_capped_fraction, 0.25);
}

TEST(LrSchedule, CosineWithWarmupAndMinRatio) {
  learner::LrSchedule s;
  s.total_steps = 20;  // warm-up ceil(0.1 * 20) = 2 steps
  EXPECT_EQ(s.warmup_steps(), 2);
  EXPECT_DOUBLE_EQ(s.Factor(0), 0.0);
  EXPECT_DOUBLE_EQ(s.Factor(1), 0.5);
  EXPECT_DOUBLE_EQ(s.Factor(2), 1.0);
  EXPECT_NEAR(s.Factor(11), 0.1 + 0.9 * 0.5 * (1 + std::cos(M_PI * 9.0 / 18.0)), 1e-12);
  EXPECT_NEAR(s.Factor(20), 0.1, 1e-12);
  s.kind = config::LrScheduleKind::kLinear;
  EXPECT_NEAR(s.Factor(11), 0.5, 1e-12);
  // A schedule outside the list is refused where it is named: the config.
  ExpectErrorContaining([&] { config::TrainConfig::Load("", {"optim.schedule=exponential"}); },
                        {"exponential", "cosine"});
}

}  // namespace
}  // namespace prlm
