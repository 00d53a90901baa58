#include "common/objective/rest_objective.h"

#include <algorithm>
#include <cstdio>
#include <numeric>

#include "common/monitor/step_metrics.h"
#include "common/objective/micro_batch_logprobs.h"
#include "common/objective/sft_objective.h"
#include "proto/train.pb.h"

namespace prlm::objective {

KeepRule KeepRule::Of(const config::RestConfig& c) { return {c.keep_threshold, c.keep_top, c.keep_truncated}; }

std::vector<size_t> KeepCandidates(const std::vector<ScoredSample>& group, const KeepRule& rule) {
  std::vector<size_t> eligible;
  for (size_t i = 0; i < group.size(); ++i)
    if ((group[i].stopped || rule.keep_truncated) && group[i].reward > rule.threshold) eligible.push_back(i);
  // Best first; stable, so equal rewards keep the earlier sample.
  std::stable_sort(eligible.begin(), eligible.end(),
                   [&](size_t a, size_t b) { return group[a].reward > group[b].reward; });
  if (rule.top > 0 && eligible.size() > static_cast<size_t>(rule.top)) eligible.resize(static_cast<size_t>(rule.top));
  std::sort(eligible.begin(), eligible.end());
  return eligible;
}

Advantages RestObjective::ComputeAdvantages(const ScoredGroups& groups) const {
  Advantages a;
  for (const auto& group : groups) {
    std::vector<bool> kept(group.size(), false);
    for (size_t i : KeepCandidates(group, rule_)) kept[i] = true;
    std::vector<double> values;
    for (bool k : kept) values.push_back(k ? 1.0 : 0.0);
    a.kept.push_back(std::find(kept.begin(), kept.end(), true) != kept.end());
    a.values.push_back(std::move(values));
    a.sample_kept.push_back(std::move(kept));
  }
  return a;
}

at::Tensor RestObjective::Loss(const MicroBatchLogprobs& b, proto::LearnerStats* sums) const {
  return CrossEntropyLoss(b, sums);
}

void RestObjective::RecordStats(const proto::LearnerStats& s, monitor::StepMetrics* m) const {
  RecordCrossEntropy(s, m);
}

std::string RestObjective::ConsoleSummary(const monitor::StepMetrics& m) const {
  char buf[160];
  if (m.rest && m.rest->phase == monitor::RestPhase::kCollect && m.rewards)
    std::snprintf(buf, sizeof buf, " | iteration %lld E-step | reward %.3f | kept %lld of %lld",
                  static_cast<long long>(m.rest->iteration), m.rewards->score.mean,
                  static_cast<long long>(m.rewards->kept), static_cast<long long>(m.rewards->samples));
  else
    std::snprintf(buf, sizeof buf, " | iteration %lld M-step | sft loss %.4f",
                  static_cast<long long>(m.rest ? m.rest->iteration : 0), m.actor.sft_loss.value_or(0));
  return buf;
}

}  // namespace prlm::objective
