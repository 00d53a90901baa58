#include "common/util/paired_bootstrap.h"

#include <algorithm>
#include <cmath>

#include "common/util/check.h"
#include "common/util/rng.h"

namespace prlm::util {
namespace {

double Apply(Statistic statistic, double sum, size_t n) {
  const double mean = sum / static_cast<double>(n);
  return statistic == Statistic::kRootMean ? std::sqrt(std::max(0.0, mean)) : mean;
}

// The q-quantile of sorted values, linear between order statistics.
double Quantile(const std::vector<double>& sorted, double q) {
  const double position = q * static_cast<double>(sorted.size() - 1);
  const size_t below = static_cast<size_t>(position);
  const size_t above = std::min(below + 1, sorted.size() - 1);
  return sorted[below] + (position - static_cast<double>(below)) * (sorted[above] - sorted[below]);
}

}  // namespace

BootstrapInterval PairedBootstrap(const std::vector<double>& a, const std::vector<double>& b, Statistic statistic,
                                  int resamples, double level, uint64_t seed) {
  PRLM_REQUIRE(a.size() == b.size(), "paired bootstrap: " << a.size() << " values against " << b.size()
                                                          << " (the same questions are needed)");
  PRLM_REQUIRE(!a.empty(), "paired bootstrap: no questions to compare");
  PRLM_REQUIRE(resamples >= 1, "paired bootstrap: resamples must be at least 1");
  PRLM_REQUIRE(level > 0 && level < 1, "paired bootstrap: level must be in (0, 1), got " << level);
  const size_t n = a.size();
  double sum_a = 0, sum_b = 0;
  for (size_t i = 0; i < n; ++i) sum_a += a[i], sum_b += b[i];
  BootstrapInterval out;
  out.difference = Apply(statistic, sum_b, n) - Apply(statistic, sum_a, n);
  out.n = n;
  out.resamples = resamples;
  out.level = level;
  SplitMix64 rng(seed);
  std::vector<double> differences(static_cast<size_t>(resamples));
  for (auto& d : differences) {
    double ra = 0, rb = 0;
    for (size_t j = 0; j < n; ++j) {
      const size_t i = static_cast<size_t>(rng.Below(static_cast<int>(n)));
      ra += a[i], rb += b[i];
    }
    d = Apply(statistic, rb, n) - Apply(statistic, ra, n);
  }
  std::sort(differences.begin(), differences.end());
  out.low = Quantile(differences, (1 - level) / 2);
  out.high = Quantile(differences, (1 + level) / 2);
  return out;
}

}  // namespace prlm::util
