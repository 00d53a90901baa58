#include "common/monitor/line_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/util/check.h"

namespace prlm::monitor {
namespace {

// A colour-blind-friendly palette (Okabe-Ito), then greys.
constexpr Rgb kPalette[] = {{0, 114, 178},  {230, 159, 0}, {0, 158, 115}, {213, 94, 0},
                            {204, 121, 167}, {86, 180, 233}, {0, 0, 0},   {120, 120, 120}};
constexpr Rgb kInk{40, 40, 40}, kGrid{225, 225, 225};

std::string Label(double v, double spacing) {
  char buf[32];
  if (v != 0 && (std::abs(v) >= 1e5 || std::abs(v) < 1e-3)) std::snprintf(buf, sizeof buf, "%.1e", v);
  else if (spacing >= 1) std::snprintf(buf, sizeof buf, "%.0f", v);
  else std::snprintf(buf, sizeof buf, "%.*f", std::min(6, static_cast<int>(std::ceil(-std::log10(spacing)))), v);
  return buf;
}

}  // namespace

std::vector<double> NiceTicks(double lo, double hi, int count) {
  if (!(hi > lo)) return {lo};
  const double raw = (hi - lo) / std::max(1, count);
  const double mag = std::pow(10, std::floor(std::log10(raw)));
  const double norm = raw / mag;
  const double step = (norm < 1.5 ? 1 : norm < 3.5 ? 2 : norm < 7.5 ? 5 : 10) * mag;
  std::vector<double> ticks;
  for (double t = std::ceil(lo / step - 1e-9) * step; t <= hi + step * 1e-9; t += step)
    ticks.push_back(std::abs(t) < step * 1e-9 ? 0 : t);
  return ticks;
}

RgbImage DrawLineChart(const std::string& title, const std::string& x_label, const std::vector<Series>& series,
                       int width, int height) {
  RgbImage img(width, height);
  // 1. The data's range (finite points only), padded so lines clear the frame.
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const auto& s : series) {
    PRLM_CHECK(s.x.size() == s.y.size());
    for (size_t i = 0; i < s.x.size(); ++i)
      if (std::isfinite(s.x[i]) && std::isfinite(s.y[i])) {
        x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
        y0 = std::min(y0, s.y[i]), y1 = std::max(y1, s.y[i]);
      }
  }
  const bool empty = !std::isfinite(x0);
  if (empty) x0 = 0, x1 = 1, y0 = 0, y1 = 1;
  if (x1 == x0) x0 -= 0.5, x1 += 0.5;
  if (y1 == y0) y0 -= std::max(0.5, std::abs(y0) * 0.1), y1 += std::max(0.5, std::abs(y1) * 0.1);
  const double pad = (y1 - y0) * 0.05;
  y0 -= pad, y1 += pad;

  // 2. The legend's rows (wrapped to the width) set the bottom margin; then
  //    frame, grid and ticks.
  const int left = 90, right = width - 20, top = 44;
  std::vector<std::pair<int, int>> legend_at;  // (x, row) per series
  for (size_t k = 0, x = left, row = 0; k < series.size(); ++k) {
    const int w = 22 + RgbImage::TextWidth(series[k].name) + 24;
    if (x + w > static_cast<size_t>(width) && x > static_cast<size_t>(left)) x = left, ++row;
    legend_at.emplace_back(static_cast<int>(x), static_cast<int>(row));
    x += w;
  }
  const int legend_rows = legend_at.empty() ? 0 : legend_at.back().second + 1;
  const int bottom = height - 44 - 16 * legend_rows;
  auto px = [&](double x) { return left + (x - x0) / (x1 - x0) * (right - left); };
  auto py = [&](double y) { return bottom - (y - y0) / (y1 - y0) * (bottom - top); };
  img.Text(left, 14, title, kInk, 2);
  const auto yticks = NiceTicks(y0, y1, 6), xticks = NiceTicks(x0, x1, 8);
  const double ys = yticks.size() > 1 ? yticks[1] - yticks[0] : 1, xs = xticks.size() > 1 ? xticks[1] - xticks[0] : 1;
  for (double t : yticks) {
    const int y = static_cast<int>(std::lround(py(t)));
    img.Line(left, y, right, y, kGrid);
    const std::string s = Label(t, ys);
    img.Text(left - 8 - RgbImage::TextWidth(s), y - 3, s, kInk);
  }
  for (double t : xticks) {
    const int x = static_cast<int>(std::lround(px(t)));
    img.Line(x, top, x, bottom, kGrid);
    const std::string s = Label(t, xs);
    img.Text(x - RgbImage::TextWidth(s) / 2, bottom + 8, s, kInk);
  }
  img.Text((left + right - RgbImage::TextWidth(x_label)) / 2, bottom + 24, x_label, kInk);
  img.Line(left, top, right, top, kInk);
  img.Line(left, bottom, right, bottom, kInk);
  img.Line(left, top, left, bottom, kInk);
  img.Line(right, top, right, bottom, kInk);
  if (empty) img.Text(left + 20, top + 20, "no data", kInk, 2);

  // 3. The series, then the legend under the axis.
  for (size_t k = 0; k < series.size(); ++k) {
    const Rgb c = kPalette[k % (sizeof kPalette / sizeof kPalette[0])];
    const auto& s = series[k];
    bool have_last = false;
    double lx = 0, ly = 0;
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) {
        have_last = false;
        continue;
      }
      const double x = px(s.x[i]), y = py(s.y[i]);
      if (have_last) img.Line(lx, ly, x, y, c, 2);
      else img.FillRect(static_cast<int>(x) - 1, static_cast<int>(y) - 1, static_cast<int>(x) + 1,
                        static_cast<int>(y) + 1, c);
      lx = x, ly = y, have_last = true;
    }
    const auto [lx0, row] = legend_at[k];
    const int ly0 = bottom + 40 + 16 * row;
    img.FillRect(lx0, ly0 + 2, lx0 + 16, ly0 + 5, c);
    img.Text(lx0 + 22, ly0, s.name, kInk);
  }
  return img;
}

}  // namespace prlm::monitor
