#include "common/objective/sft_objective.h"

#include <algorithm>
#include <cstdio>

#include "common/monitor/step_metrics.h"
#include "common/objective/micro_batch_logprobs.h"
#include "proto/train.pb.h"

namespace prlm::objective {

Advantages SftObjective::ComputeAdvantages(const ScoredGroups& groups) const {
  Advantages a;  // every target counts, with weight 0 (unused by the loss)
  for (const auto& group : groups) a.values.emplace_back(group.size(), 0.0), a.kept.push_back(true);
  return a;
}

at::Tensor SftObjective::Loss(const MicroBatchLogprobs& b, proto::LearnerStats* sums) const {
  return CrossEntropyLoss(b, sums);
}

void SftObjective::RecordStats(const proto::LearnerStats& s, monitor::StepMetrics* m) const {
  RecordCrossEntropy(s, m);
}

std::string SftObjective::ConsoleSummary(const monitor::StepMetrics& m) const {
  char buf[64];
  std::snprintf(buf, sizeof buf, " | sft loss %.4f", m.actor.sft_loss.value_or(0));
  return buf;
}

at::Tensor CrossEntropyLoss(const MicroBatchLogprobs& b, proto::LearnerStats* sums) {
  const double tokens = std::max(1.0, b.mask.sum().item<double>());
  torch::Tensor loss = -(b.logprobs * b.mask).sum() / tokens;
  sums->set_sft_loss(sums->sft_loss() + loss.item<double>());
  return loss;
}

void RecordCrossEntropy(const proto::LearnerStats& s, monitor::StepMetrics* m) {
  m->actor.sft_loss = s.sft_loss() / std::max(1.0, s.micro_batches());
}

}  // namespace prlm::objective
