#include "common/objective/advantages.h"

#include <cmath>

#include "common/util/check.h"

namespace prlm::objective {
namespace {

double Mean(const std::vector<double>& v) {
  double s = 0;
  for (double x : v) s += x;
  return s / double(v.size());
}

// Sample standard deviation (n - 1), as torch.std.
double Std(const std::vector<double>& v, double mean) {
  double s = 0;
  for (double x : v) s += (x - mean) * (x - mean);
  return std::sqrt(s / double(v.size() - 1));
}

}  // namespace

Advantages ComputeAdvantages(const std::vector<std::vector<double>>& rewards, const AdvantageOptions& o) {
  PRLM_REQUIRE(!rewards.empty(), "advantages of an empty batch");
  const bool uses_std = o.scaling != config::AdvantageScaling::kNone;
  std::vector<double> all;
  for (size_t g = 0; g < rewards.size(); ++g) {
    PRLM_REQUIRE(!rewards[g].empty(), "group " << g << " has no samples");
    PRLM_REQUIRE(
        !uses_std || rewards[g].size() >= 2,
        "group " << g << " has " << rewards[g].size() << " sample; a std needs at least 2 per group (or scaling none)");
    all.insert(all.end(), rewards[g].begin(), rewards[g].end());
  }
  const double batch_std = all.size() >= 2 ? Std(all, Mean(all)) : 0.0;
  Advantages out;
  size_t zero_std = 0;
  for (const auto& group : rewards) {
    const double mean = Mean(group);
    const double std = group.size() >= 2 ? Std(group, mean) : 0.0;
    // torch.isclose(std, 0) as TRL counts it: |std| <= 1e-8.
    const bool flat = std::abs(std) <= 1e-8;
    zero_std += flat;
    const double scale = o.scaling == config::AdvantageScaling::kGroupStd   ? std + o.eps
                         : o.scaling == config::AdvantageScaling::kBatchStd ? batch_std + o.eps
                                                                            : 1.0;
    std::vector<double> a;
    for (double r : group) a.push_back((r - mean) / scale);
    out.values.push_back(std::move(a));
    out.kept.push_back(!(o.drop_zero_std_groups && flat));
  }
  out.frac_reward_zero_std = double(zero_std) / double(rewards.size());
  return out;
}

}  // namespace prlm::objective
