// What the coordinator's loop does at each global step, asked in one place:
//
//   kind      a rollout step (order → rollout → plan: GRPO, sft) or, with an
//             EM objective (rest, em_schedule.h), an E-step step (rollout and
//             keep, no update) or an M-step step (an update on kept
//             sequences);
//   saves     whether the step ends with a checkpoint: the run's (or this
//             launch's) last step, every trainer.save_every steps, the end of
//             an EM iteration, or a preemption signal;
//   ahead     how far past this step the rollout workers' work may reach
//             before this step's update (grpo.max_staleness = k: up to k
//             steps; 1 is one step off): never past the launch's last step
//             and never across a checkpoint, so resuming stays exact.
//
// Thread-safety: immutable after construction.
#pragma once

#include <cstdint>
#include <optional>
#include <utility>

#include "coordinator/em_schedule.h"

namespace prlm::coordinator {

enum class StepKind { kRollout, kCollect, kUpdate };

struct StepShape {
  StepKind kind = StepKind::kRollout;
  EmPosition em;                // kCollect / kUpdate: the step's place in the EM layout
  bool ends_iteration = false;  // the last step of an EM iteration
};

class StepSchedule {
 public:
  StepSchedule() = default;
  // `em` for an EM objective; `stop_at`: the step count at which this launch
  // stops (global steps are 0-based, so step stop_at - 1 is the last).
  // `ahead`: grpo.max_staleness where the objective allows rollout ahead of
  // the update, else 0.
  StepSchedule(std::optional<EmSchedule> em, int64_t save_every, int64_t stop_at, int64_t ahead)
      : em_(std::move(em)), save_every_(save_every), stop_at_(stop_at), ahead_(ahead) {}

  StepShape At(int64_t step) const {
    if (!em_) return {};
    const EmPosition at = em_->At(step);
    return {at.update ? StepKind::kUpdate : StepKind::kCollect, at, em_->EndsIteration(step)};
  }

  bool SavesAfter(const StepShape& shape, int64_t step, bool preempted) const {
    return preempted || step + 1 == stop_at_ || shape.ends_iteration ||
           (save_every_ > 0 && (step + 1) % save_every_ == 0);
  }

  // The last step whose work may be out while `step` learns: `step` itself
  // (synchronous, or a checkpoint follows) up to step + ahead, stopping at
  // the launch's last step and at the first later step that saves (the
  // steps after it wait for its checkpoint). A preemption signal is not
  // foreseen: steps already out when one comes go into its checkpoint with
  // their versions, and the resumed run posts them again.
  // REQUIRES: `saves` is SavesAfter's answer for `step`.
  int64_t AheadThrough(int64_t step, bool saves) const {
    int64_t last = step;
    if (saves) return last;
    for (int64_t s = step + 1; s <= step + ahead_ && s < stop_at_; ++s) {
      last = s;
      if (SavesAfter(At(s), s, false)) break;
    }
    return last;
  }

 private:
  std::optional<EmSchedule> em_;
  int64_t save_every_ = 0, stop_at_ = 0, ahead_ = 0;
};

}  // namespace prlm::coordinator
