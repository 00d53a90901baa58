// A line chart of one or more series over steps, written as SVG text (any
// browser, GitHub's markdown view and image viewers draw it with real fonts
// and anti-aliasing; no plotting library is needed on the cluster).
//
// The chart has a title, a plot area with grid lines at "nice" tick values
// on both axes, tick labels, axis labels (put the unit in them), one colour
// per series and a legend. When `smoothing` > 0 each series is drawn twice:
// its raw values as a faint line and, on top, their exponential moving
// average with TensorBoard's weight and start-up debiasing. Non-finite
// points are gaps in both lines.
//
// Thread-safety: pure functions.
#pragma once

#include <string>
#include <vector>

namespace prlm::monitor {

struct Series {
  std::string name;
  std::vector<double> x, y;  // same length
};

struct ChartOptions {
  std::string title;
  std::string x_label = "step";
  std::string y_label;     // with its unit, e.g. "seconds" or "reward"
  double smoothing = 0.6;  // TensorBoard's weight in [0, 1); 0 draws the raw series only
  int width = 800, height = 450;
};

// REQUIRES: every series has x.size() == y.size(); 0 <= smoothing < 1.
std::string DrawLineChartSvg(const std::vector<Series>& series, const ChartOptions& options);

// TensorBoard's smoothing: s_t = w s_{t-1} + (1 - w) y_t from s_0 = 0, each
// divided by (1 - w^n) after n finite values; a non-finite y gives NaN and
// leaves the average as it was.
std::vector<double> SmoothEma(const std::vector<double>& y, double weight);

// Tick values covering [lo, hi] at a 1/2/5 x 10^k spacing, about `count` of them.
std::vector<double> NiceTicks(double lo, double hi, int count);

}  // namespace prlm::monitor
