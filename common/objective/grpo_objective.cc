#include "common/objective/grpo_objective.h"

#include <algorithm>
#include <cstdio>

#include "common/monitor/step_metrics.h"
#include "common/objective/grpo_loss.h"
#include "common/objective/micro_batch_logprobs.h"
#include "common/util/check.h"
#include "proto/train.pb.h"

namespace prlm::objective {

Advantages GrpoObjective::ComputeAdvantages(const ScoredGroups& groups) const {
  std::vector<std::vector<double>> rewards;
  for (const auto& g : groups) {
    rewards.emplace_back();
    for (const auto& s : g) rewards.back().push_back(s.reward);
  }
  AdvantageOptions options;
  options.scaling = config_.advantage_scaling;
  options.eps = config_.advantage_eps;
  options.drop_zero_std_groups = config_.drop_zero_std_groups;
  return objective::ComputeAdvantages(rewards, options);
}

LearnerNeeds GrpoObjective::learner_needs() const {
  LearnerNeeds needs;
  needs.reference_logprobs = config_.beta > 0;
  needs.old_logprobs = config_.mu > 1 || config_.max_staleness > 0;  // the update is off-policy
  needs.old_from_rollout = needs.old_logprobs && config_.old_logprobs == "rollout";
  needs.behaviour_logprobs = off_policy_.method != config::OffPolicyCorrection::kNone;
  needs.epochs = config_.mu;
  needs.temperature = config_.temperature;
  return needs;
}

at::Tensor GrpoObjective::Loss(const MicroBatchLogprobs& b, proto::LearnerStats* sums) const {
  GrpoLossOptions options;
  options.clip_eps_low = config_.clip_eps_low;
  options.clip_eps_high = config_.clip_eps_high;
  options.dual_clip_c = config_.dual_clip_c;
  options.beta = config_.beta;
  options.kl = config_.kl;
  options.aggregation = config_.loss_aggregation;
  options.max_completion_length = config_.max_completion_tokens;
  // On-policy (one epoch, no lag): old = current, so the ratio is 1 with a gradient.
  const auto old = b.old_logprobs.defined() ? b.old_logprobs : b.logprobs.detach();
  torch::Tensor mask = b.mask, weight;
  if (off_policy_.method != config::OffPolicyCorrection::kNone) {
    PRLM_CHECK_MSG(b.behaviour_logprobs.defined(), "grpo.off_policy needs the sampler's log-probs");
    const OffPolicyWeights w = ComputeOffPolicyWeights(old, b.behaviour_logprobs, b.mask, off_policy_);
    mask = w.mask;
    weight = w.weight;
    sums->set_is_tokens(sums->is_tokens() + static_cast<double>(w.tokens));
    sums->set_is_capped_tokens(sums->is_capped_tokens() + static_cast<double>(w.capped));
  }
  const GrpoLoss g = ComputeGrpoLoss(b.logprobs, old, b.ref_logprobs, b.advantages, mask, options, weight);
  sums->set_pg_loss(sums->pg_loss() + g.pg_loss);
  sums->set_kl_loss(sums->kl_loss() + g.kl);
  sums->set_ppo_kl(sums->ppo_kl() + g.ppo_kl);
  sums->set_pg_clipfrac(sums->pg_clipfrac() + g.clipfrac);
  sums->set_pg_clipfrac_dual(sums->pg_clipfrac_dual() + g.dual_clipfrac);
  return g.loss;
}

void GrpoObjective::RecordStats(const proto::LearnerStats& s, monitor::StepMetrics* m) const {
  const double n = std::max(1.0, s.micro_batches());
  m->actor.pg_loss = s.pg_loss() / n;
  m->actor.kl_loss = s.kl_loss() / n;
  m->actor.kl_coef = config_.beta;
  m->actor.ppo_kl = s.ppo_kl() / n;
  m->actor.pg_clipfrac = s.pg_clipfrac() / n;
  m->actor.pg_clipfrac_lower = s.pg_clipfrac_dual() / n;
  if (s.is_tokens() > 0) m->actor.is_capped_fraction = s.is_capped_tokens() / s.is_tokens();
}

std::string GrpoObjective::ConsoleSummary(const monitor::StepMetrics& m) const {
  char buf[128];
  std::snprintf(buf, sizeof buf, " | reward %.3f | kl %.4f | clip %.3f", m.rewards ? m.rewards->score.mean : 0.0,
                m.actor.kl_loss.value_or(0), m.actor.pg_clipfrac.value_or(0));
  return buf;
}

}  // namespace prlm::objective
