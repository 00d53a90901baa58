#include "learner/lr_schedule.h"

#include <algorithm>
#include <cmath>

#include "common/util/check.h"

namespace prlm::learner {

int64_t LrSchedule::warmup_steps() const { return static_cast<int64_t>(std::ceil(warmup_ratio * double(total_steps))); }

double LrSchedule::Factor(int64_t step) const {
  const int64_t warmup = warmup_steps();
  if (step < warmup) return double(step) / double(std::max<int64_t>(1, warmup));
  if (kind == config::LrScheduleKind::kConstant) return 1.0;
  const double progress = std::min(1.0, double(step - warmup) / double(std::max<int64_t>(1, total_steps - warmup)));
  if (kind == config::LrScheduleKind::kLinear) return std::max(0.0, 1.0 - progress);
  const double cosine = 0.5 * (1.0 + std::cos(M_PI * progress));
  return min_lr_ratio + (1.0 - min_lr_ratio) * cosine;
}

void LrSchedule::Validate() const {
  PRLM_REQUIRE(total_steps >= 1, "lr schedule: total steps must be at least 1, got " << total_steps);
  PRLM_REQUIRE(warmup_ratio >= 0 && warmup_ratio < 1,
               "lr schedule: warm-up ratio must be in [0, 1), got " << warmup_ratio);
  PRLM_REQUIRE(min_lr_ratio >= 0 && min_lr_ratio <= 1,
               "lr schedule: min-lr ratio must be in [0, 1], got " << min_lr_ratio);
}

}  // namespace prlm::learner
