#include "reward_server/text_rewards.h"

#include "common/data/task.h"
#include "common/data/task_metrics.h"
#include "common/text/metrics.h"
#include "common/text/unicode.h"

namespace prlm::reward {

namespace {

// The item's task (null: none named, a generation task); refuses an item
// without a gold output or naming an unknown task.
const data::TaskSpec* GoldTaskOf(const RewardInput& input, const char* component) {
  if (text::StripAsciiSpace(input.item->gold()).empty())
    throw InvalidRewardInput("item " + std::to_string(input.index) + " has no gold output; the " + component +
                             " reward needs one");
  if (input.item->task().empty()) return nullptr;
  try {
    return &data::TaskByName(input.item->task());
  } catch (const std::exception& e) {
    throw InvalidRewardInput("item " + std::to_string(input.index) + ": " + e.what());
  }
}

bool IsGeneration(const data::TaskSpec* task) { return !task || task->metric == data::TaskMetric::kGeneration; }

}  // namespace

const std::vector<std::string>& AccuracyReward::outputs() const {
  static const std::vector<std::string> names = {"accuracy", "rouge1", "rouge2", "rougeL"};
  return names;
}

std::unique_ptr<PreparedItem> AccuracyReward::Prepare(const RewardInput& input, double* out) const {
  const data::TaskSpec* task = GoldTaskOf(input, "accuracy");
  if (!input.answer.found) return nullptr;
  if (!IsGeneration(task)) {
    out[0] = data::AnswerScore(*task, input.item->gold(), input.answer.answer);
    return nullptr;
  }
  const auto r = text::Rouge(input.item->gold(), input.answer.answer, stem_);
  out[1] = r.rouge1.f;
  out[2] = r.rouge2.f;
  out[3] = r.rougeL.f;
  out[0] = out[1] + out[2] + out[3];
  return nullptr;
}

const std::vector<std::string>& SimilarityReward::outputs() const {
  static const std::vector<std::string> names = {"similarity"};
  return names;
}

std::unique_ptr<PreparedItem> SimilarityReward::Prepare(const RewardInput& input, double* out) const {
  const data::TaskSpec* task = GoldTaskOf(input, "similarity");
  if (!input.answer.found) return nullptr;
  if (!IsGeneration(task)) {
    out[0] = data::AnswerScore(*task, input.item->gold(), input.answer.answer);
    return nullptr;
  }
  const auto r = text::Rouge(input.item->gold(), input.answer.answer, stem_);
  out[0] = (r.rouge1.f + r.rougeL.f) / 2;
  return nullptr;
}

const std::vector<std::string>& FormatReward::outputs() const {
  static const std::vector<std::string> names = {"format"};
  return names;
}

std::unique_ptr<PreparedItem> FormatReward::Prepare(const RewardInput& input, double* out) const {
  out[0] = text::HasReasoningFormat(input.item->completion()) ? 1.0 : 0.0;
  return nullptr;
}

}  // namespace prlm::reward
