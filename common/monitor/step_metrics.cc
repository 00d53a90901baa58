#include "common/monitor/step_metrics.h"

#include <algorithm>

namespace prlm::monitor {

void SpreadBuilder::Add(double v) {
  min_ = n_ ? std::min(min_, v) : v;
  max_ = n_ ? std::max(max_, v) : v;
  sum_ += v;
  ++n_;
}

Spread SpreadBuilder::Get() const { return {n_ ? sum_ / static_cast<double>(n_) : 0, max_, min_}; }

std::vector<std::pair<std::string, double>> Phases(const PhaseTimes& t) {
  return {{"retrieval", t.retrieval},
          {"gen", t.gen},
          {"reward", t.reward},
          {"old_log_prob", t.old_log_prob},
          {"ref", t.ref},
          {"update_actor", t.update_actor},
          {"sync_weights", t.sync_weights},
          {"learn", t.learn},
          {"rollout", t.rollout},
          {"step", t.step}};
}

namespace keys {
std::string Phase(const std::string& phase) { return "timing_s/" + phase; }
std::string RewardComponentMean(const std::string& component) { return "reward/" + component + "/mean"; }
std::optional<std::string> RewardComponentOf(const std::string& key) {
  if (key.size() > 12 && key.rfind("reward/", 0) == 0 && key.compare(key.size() - 5, 5, "/mean") == 0)
    return key.substr(7, key.size() - 12);
  return std::nullopt;
}
}  // namespace keys

nlohmann::ordered_json ToJson(const StepMetrics& m) {
  nlohmann::ordered_json j;
  j[keys::kGlobalStep] = m.global_step;
  j["training/epoch"] = m.epoch;
  // The update.
  const ActorMetrics& a = m.actor;
  const auto put = [&j](const char* key, const std::optional<double>& v) {
    if (v) j[key] = *v;
  };
  put(keys::kSftLoss, a.sft_loss);
  put(keys::kPgLoss, a.pg_loss);
  put(keys::kKlLoss, a.kl_loss);
  put("actor/kl_coef", a.kl_coef);
  put(keys::kPpoKl, a.ppo_kl);
  put("actor/pg_clipfrac", a.pg_clipfrac);
  put("actor/pg_clipfrac_lower", a.pg_clipfrac_lower);
  j[keys::kEntropy] = a.entropy;
  j[keys::kGradNorm] = a.grad_norm;
  j[keys::kLr] = a.lr;
  // The scored samples.
  if (m.rewards) {
    const RewardMetrics& r = *m.rewards;
    j[keys::kScoreMean] = r.score.mean;
    j["critic/score/max"] = r.score.max;
    j["critic/score/min"] = r.score.min;
    j["critic/rewards/mean"] = r.score.mean;
    j["critic/advantages/mean"] = r.advantages.mean;
    j["critic/advantages/max"] = r.advantages.max;
    j["critic/advantages/min"] = r.advantages.min;
    for (const auto& [name, mean] : r.component_means) j[keys::RewardComponentMean(name)] = mean;
    j[keys::kFracRewardZeroStd] = r.frac_reward_zero_std;
    if (r.kept_score) {
      j["rest/kept"] = r.kept;
      j["rest/kept_fraction"] = static_cast<double>(r.kept) / static_cast<double>(std::max<int64_t>(1, r.samples));
      j["rest/kept_score/mean"] = r.kept_score->mean;
    }
  }
  if (m.rest) {
    j["rest/iteration"] = m.rest->iteration;
    j["rest/m_step"] = m.rest->phase == RestPhase::kUpdate ? 1 : 0;
  }
  if (m.elastic) {
    j["rollout/workers"] = m.elastic->workers;
    j["rollout/reissued"] = m.elastic->reissued;
    j["rollout/lost_workers"] = m.elastic->lost_workers;
    j["rollout/duplicate_results"] = m.elastic->duplicate_results;
  }
  // The rollout and the plan.
  j[keys::kResponseLengthMean] = m.response_length.mean;
  j[keys::kResponseLengthMax] = m.response_length.max;
  j[keys::kResponseLengthMin] = m.response_length.min;
  j[keys::kResponseClipRatio] = m.response_clip_ratio;
  j["prompt_length/mean"] = m.prompt_length_mean;
  j[keys::kStaleness] = m.staleness_mean;
  j[keys::kStalenessMax] = m.staleness_max;
  j[keys::kPartialSamples] = m.partial_samples;
  j[keys::kDroppedStale] = m.dropped_stale;
  if (m.rollout_corr) {
    j[keys::kRolloutCorrKl] = m.rollout_corr->kl;
    j[keys::kRolloutCorrK3Kl] = m.rollout_corr->k3_kl;
    j[keys::kRolloutCorrEss] = m.rollout_corr->ess;
    j[keys::kRolloutCorrProbsDiffMean] = m.rollout_corr->probs_diff_mean;
    j[keys::kRolloutCorrProbsDiffMax] = m.rollout_corr->probs_diff_max;
  }
  if (m.actor.is_capped_fraction) j[keys::kRolloutCorrCappedFraction] = *m.actor.is_capped_fraction;
  j["rollout/skipped_questions"] = m.skipped_questions;
  j["training/sequences"] = m.sequences;
  j["training/micro_batches"] = m.micro_batches;
  j[keys::kRetrievalRetries] = m.retrieval_retries;
  j[keys::kRewardRetries] = m.reward_retries;
  j[keys::kRewardFailovers] = m.reward_failovers;
  j[keys::kRetrievalFailovers] = m.retrieval_failovers;
  j[keys::kRewardQueueDepth] = m.reward_queue_depth;
  // Phases up to the update; then the step's totals.
  for (const auto& [phase, seconds] : Phases(m.timing))
    if (phase != "rollout" && phase != "step") j[keys::Phase(phase)] = seconds;
  j[keys::kCoordinatorCpu] = m.coordinator.cpu_s;
  j["coordinator/messages"] = m.coordinator.messages;
  j["coordinator/bytes"] = m.coordinator.bytes;
  j["perf/total_num_tokens"] = m.total_num_tokens;
  j["training/weight_version"] = m.weight_version;
  j[keys::Phase("rollout")] = m.timing.rollout;
  j[keys::kStepSeconds] = m.timing.step;
  j[keys::kThroughput] = m.throughput;
  return j;
}

}  // namespace prlm::monitor
