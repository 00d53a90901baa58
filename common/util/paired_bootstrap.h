// The paired bootstrap of a difference between two systems scored on the same
// questions: how sure is "B beats A by d"?
//
// Given per-question values a_i and b_i (i = 1..n, the same questions in the
// same order), the difference of the statistic, stat(b) - stat(a), is
// recomputed on `resamples` resamples of the n question indices drawn with
// replacement (the same indices for both systems: that is the pairing), and
// the interval is the percentile interval of those differences at `level`
// (the ((1-level)/2) and ((1+level)/2) quantiles, linear between order
// statistics). The statistic is the mean, or the root of the mean (RMSE from
// squared errors). Deterministic for a given seed.
//
// Errors: a.size() != b.size(), n == 0, resamples < 1 or level outside (0, 1)
// throw util::Error. Thread-safe: a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace prlm::util {

enum class Statistic { kMean, kRootMean };

struct BootstrapInterval {
  double difference = 0;  // stat(b) - stat(a) on the questions as given
  double low = 0, high = 0;
  size_t n = 0;
  int resamples = 0;
  double level = 0;
};

BootstrapInterval PairedBootstrap(const std::vector<double>& a, const std::vector<double>& b,
                                  Statistic statistic = Statistic::kMean, int resamples = 10000, double level = 0.95,
                                  uint64_t seed = 1);

}  // namespace prlm::util
