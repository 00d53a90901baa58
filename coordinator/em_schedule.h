// The step layout of an EM objective (grpo.objective=rest, REST-PG): the run
// is rest.iterations iterations, each
//
//   E-step  `collect_steps` steps: every training question once, in data-set
//           order, trainer.prompts_per_step per step (the last step takes
//           what is left); the rollout workers sample and the reward tier
//           scores; the keep rule (common/objective/rest_objective.h) keeps
//           some samples; nothing is updated;
//   M-step  `update_steps` steps of sft on the iteration's kept sequences,
//           prompts_per_step of them per step, in shuffled passes; the first
//           restarts the learners (rest.init=base: model.policy's weights;
//           both: a fresh optimizer and LR schedule of update_steps steps);
//           the last sends the new weights to the rollout workers.
//
// Every step is a global step (metrics, checkpoints, resume), so a run stops
// and resumes at any step, inside an E-step too (the kept set so far is part
// of the checkpoint). The layout is fixed before the run starts, so the step
// count, the ETA and the LR schedule are known up front.
//
// Thread-safety: immutable values and pure functions.
#pragma once

#include <cstdint>
#include <vector>

#include "common/config/train_config.h"

namespace prlm::coordinator {

struct EmPosition {
  int64_t iteration = 0;  // 0-based
  bool update = false;    // M-step (else E-step)
  int64_t index = 0;      // the step's position within its phase
};

struct EmSchedule {
  int64_t iterations = 1, collect_steps = 1, update_steps = 1;
  int64_t questions = 1, prompts_per_step = 1;

  int64_t steps_per_iteration() const { return collect_steps + update_steps; }
  int64_t total_steps() const { return iterations * steps_per_iteration(); }
  // REQUIRES: 0 <= step < total_steps().
  EmPosition At(int64_t step) const;
  // The question indices of E-step step `index` (data-set order).
  std::vector<int64_t> CollectQuestions(int64_t index) const;
  // Whether `step` is the last of its iteration.
  bool EndsIteration(int64_t step) const { return (step + 1) % steps_per_iteration() == 0; }
};

// The layout for `questions` training questions. rest.update_steps 0 means
// one pass over a full kept set: ceil(questions x per-question kept /
// prompts_per_step), per-question kept being rest.keep_top (or
// grpo.group_size when keep_top is 0). Throws util::Error on an empty data set.
EmSchedule MakeEmSchedule(const config::TrainConfig& config, int64_t questions);

}  // namespace prlm::coordinator
