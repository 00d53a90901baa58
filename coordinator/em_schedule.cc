#include "coordinator/em_schedule.h"

#include <algorithm>

#include "common/util/check.h"

namespace prlm::coordinator {

namespace {
int64_t CeilDiv(int64_t a, int64_t b) { return (a + b - 1) / b; }
}  // namespace

EmPosition EmSchedule::At(int64_t step) const {
  PRLM_CHECK_MSG(step >= 0 && step < total_steps(), "step " << step << " outside the EM schedule");
  EmPosition p;
  p.iteration = step / steps_per_iteration();
  const int64_t in_iteration = step % steps_per_iteration();
  p.update = in_iteration >= collect_steps;
  p.index = p.update ? in_iteration - collect_steps : in_iteration;
  return p;
}

std::vector<int64_t> EmSchedule::CollectQuestions(int64_t index) const {
  std::vector<int64_t> out;
  for (int64_t q = index * prompts_per_step; q < std::min(questions, (index + 1) * prompts_per_step); ++q)
    out.push_back(q);
  return out;
}

EmSchedule MakeEmSchedule(const config::TrainConfig& c, int64_t questions) {
  PRLM_REQUIRE(questions >= 1, "rest: the training split has no questions");
  EmSchedule s;
  s.iterations = c.rest.iterations;
  s.questions = questions;
  s.prompts_per_step = c.trainer.prompts_per_step;
  s.collect_steps = CeilDiv(questions, s.prompts_per_step);
  const int64_t per_question = c.rest.keep_top > 0 ? std::min(c.rest.keep_top, c.grpo.group_size) : c.grpo.group_size;
  s.update_steps =
      c.rest.update_steps > 0 ? c.rest.update_steps : CeilDiv(questions * per_question, s.prompts_per_step);
  return s;
}

}  // namespace prlm::coordinator
