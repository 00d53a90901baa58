// GRPO's group-relative advantages, computed by the coordinator from the
// scored groups (one group = the G completions of one prompt).
//
//   kGroupStd (PrLM / TRL default): A = (r - mean_g) / (std_g + eps), std with
//             Bessel's correction (torch's default), eps = 1e-4;
//   kBatchStd (TRL scale_rewards="batch"): A = (r - mean_g) / (std_batch + eps),
//             the std over every reward of the batch;
//   kNone     (Dr. GRPO): A = r - mean_g.
//
// A group whose rewards are all equal has std 0 and advantages 0; it is
// counted in frac_reward_zero_std and, with drop_zero_std_groups (DAPO's
// dynamic sampling), marked not kept so the learners skip it.
// Thread-safety: pure function.
#pragma once

#include <vector>

#include "common/config/enums.h"

namespace prlm::objective {

struct AdvantageOptions {
  config::AdvantageScaling scaling = config::AdvantageScaling::kGroupStd;
  double eps = 1e-4;
  bool drop_zero_std_groups = false;
};

struct Advantages {
  std::vector<std::vector<double>> values;  // [group][sample]
  std::vector<bool> kept;                   // [group]
  // [group][sample], for objectives that keep some samples of a group
  // (rest); empty: every sample of a kept group is trained on.
  std::vector<std::vector<bool>> sample_kept;
  double frac_reward_zero_std = 0;
};

// REQUIRES (throws util::Error otherwise): at least one group, no empty group,
// and every group of 2 or more when a std is used.
Advantages ComputeAdvantages(const std::vector<std::vector<double>>& rewards, const AdvantageOptions& options);

}  // namespace prlm::objective
