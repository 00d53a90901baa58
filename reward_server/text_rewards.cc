#include "reward_server/text_rewards.h"

#include <optional>

#include "common/data/task.h"
#include "common/data/task_metrics.h"
#include "common/text/metrics.h"
#include "common/text/unicode.h"

namespace prlm::reward_server {

namespace {

// The answer's ROUGE against the gold output for a generation task (an item
// naming no task is one). For another task, writes the task's answer score
// to out[0] and returns nothing; nothing too when no answer follows
// "</think>". Refuses an item without a gold output or naming an unknown task.
std::optional<text::RougeScores> ScoreAnswer(const RewardInput& input, bool stem, const char* component, double* out) {
  if (text::StripAsciiSpace(input.item->gold()).empty())
    throw InvalidRewardInput("item " + std::to_string(input.index) + " has no gold output; the " + component +
                             " reward needs one");
  const data::TaskSpec* task = nullptr;
  if (!input.item->task().empty()) {
    try {
      task = &data::TaskByName(input.item->task());
    } catch (const std::exception& e) {
      throw InvalidRewardInput("item " + std::to_string(input.index) + ": " + e.what());
    }
  }
  if (!input.answer.found) return std::nullopt;
  if (task && task->metric != data::TaskMetric::kGeneration) {
    out[0] = data::AnswerScore(*task, input.item->gold(), input.answer.answer);
    return std::nullopt;
  }
  return text::Rouge(input.item->gold(), input.answer.answer, stem);
}

}  // namespace

const std::vector<std::string>& AccuracyReward::outputs() const {
  static const std::vector<std::string> names = {"accuracy", "rouge1", "rouge2", "rougeL"};
  return names;
}

std::unique_ptr<PreparedItem> AccuracyReward::Prepare(const RewardInput& input, double* out) const {
  if (const auto r = ScoreAnswer(input, stem_, "accuracy", out)) {
    out[1] = r->rouge1.f;
    out[2] = r->rouge2.f;
    out[3] = r->rougeL.f;
    out[0] = out[1] + out[2] + out[3];
  }
  return nullptr;
}

const std::vector<std::string>& SimilarityReward::outputs() const {
  static const std::vector<std::string> names = {"similarity"};
  return names;
}

std::unique_ptr<PreparedItem> SimilarityReward::Prepare(const RewardInput& input, double* out) const {
  if (const auto r = ScoreAnswer(input, stem_, "similarity", out)) out[0] = (r->rouge1.f + r->rougeL.f) / 2;
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

}  // namespace prlm::reward_server
