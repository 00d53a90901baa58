// Learning-rate schedules, as factors of the peak rate per optimizer step
// (Hugging Face's definitions, so a run here and there decay alike).
//
//   cosine (PrLM: warm-up ratio 0.1, min-lr ratio 0.1): linear warm-up from 0
//     over ceil(warmup_ratio * total) steps, then
//     min + (1 - min) * 0.5 * (1 + cos(pi * progress));
//   linear: warm-up, then linear decay to 0;  constant: warm-up, then 1.
//
// Thread-safety: immutable value.
#pragma once

#include <cstdint>

#include "common/config/enums.h"

namespace prlm::learner {

struct LrSchedule {
  config::LrScheduleKind kind = config::LrScheduleKind::kCosine;
  int64_t total_steps = 1;
  double warmup_ratio = 0.1;
  double min_lr_ratio = 0.1;  // cosine only

  int64_t warmup_steps() const;
  // Factor for the update made at `step` (0-based). REQUIRES: total_steps >= 1.
  double Factor(int64_t step) const;
  // Throws util::Error naming a bad field.
  void Validate() const;
};

}  // namespace prlm::learner
