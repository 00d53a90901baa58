// A line chart of one or more series over steps, drawn into an RgbImage:
// title, framed plot area, "nice" tick values on both axes, one colour per
// series and a legend. Non-finite points are skipped (a gap in the line).
// Thread-safety: pure function.
#pragma once

#include <string>
#include <vector>

#include "common/monitor/png_image.h"

namespace prlm::monitor {

struct Series {
  std::string name;
  std::vector<double> x, y;  // same length
};

// REQUIRES: every series has x.size() == y.size().
RgbImage DrawLineChart(const std::string& title, const std::string& x_label, const std::vector<Series>& series,
                       int width = 800, int height = 450);

// Tick values covering [lo, hi] at a 1/2/5 x 10^k spacing, about `count` of them.
std::vector<double> NiceTicks(double lo, double hi, int count);

}  // namespace prlm::monitor
