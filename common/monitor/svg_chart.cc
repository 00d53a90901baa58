#include "common/monitor/svg_chart.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "common/util/check.h"

namespace prlm::monitor {
namespace {

// A colour-blind-friendly palette (Okabe-Ito), then greys.
constexpr const char* kPalette[] = {"#0072b2", "#e69f00", "#009e73", "#d55e00",
                                    "#cc79a7", "#56b4e9", "#000000", "#787878"};
constexpr const char* kFont = "DejaVu Sans, Helvetica, Arial, sans-serif";

// The plot area inside the chart, in pixels.
struct Frame {
  double left, top, right, bottom;
};

std::string Fmt(const char* format, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, format, v);
  return buf;
}

// A tick label with as many decimals as the tick spacing needs.
std::string TickLabel(double v, double spacing) {
  if (v != 0 && (std::abs(v) >= 1e5 || std::abs(v) < 1e-3)) return Fmt("%.1e", v);
  if (spacing >= 1) return Fmt("%.0f", v);
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.*f", std::min(6, static_cast<int>(std::ceil(-std::log10(spacing) - 1e-9))), v);
  return buf;
}

std::string Escape(const std::string& text) {
  std::string out;
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string Text(double x, double y, const std::string& text, const char* anchor, int size,
                 const std::string& extra = "") {
  return "<text x=\"" + Fmt("%.1f", x) + "\" y=\"" + Fmt("%.1f", y) + "\" text-anchor=\"" + anchor + "\" font-size=\"" +
         std::to_string(size) + "\"" + extra + ">" + Escape(text) + "</text>\n";
}

// The [lo, hi] that every finite value of the series lies in, padded by 5%.
void Range(const std::vector<Series>& series, bool of_x, double* lo, double* hi) {
  *lo = INFINITY;
  *hi = -INFINITY;
  for (const auto& s : series)
    for (size_t i = 0; i < s.x.size(); ++i) {
      if (!std::isfinite(s.x[i]) || !std::isfinite(s.y[i])) continue;
      const double v = of_x ? s.x[i] : s.y[i];
      *lo = std::min(*lo, v);
      *hi = std::max(*hi, v);
    }
  if (!std::isfinite(*lo)) *lo = 0, *hi = 1;
  if (*hi == *lo) {
    const double pad = *lo == 0 ? 1 : std::abs(*lo) * 0.1;
    *lo -= pad;
    *hi += pad;
  } else if (!of_x) {
    const double pad = (*hi - *lo) * 0.05;
    *lo -= pad;
    *hi += pad;
  }
}

// An SVG path through the finite points, a new sub-path after each gap.
std::string PathData(const std::vector<double>& x, const std::vector<double>& y, double x_lo, double x_hi, double y_lo,
                     double y_hi, const Frame& f) {
  std::string d;
  bool pen_down = false;
  for (size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) {
      pen_down = false;
      continue;
    }
    const double px = f.left + (x[i] - x_lo) / (x_hi - x_lo) * (f.right - f.left);
    const double py = f.bottom - (y[i] - y_lo) / (y_hi - y_lo) * (f.bottom - f.top);
    d += (pen_down ? " L" : (d.empty() ? "M" : " M")) + Fmt("%.1f", px) + "," + Fmt("%.1f", py);
    pen_down = true;
  }
  return d;
}

}  // namespace

std::vector<double> SmoothEma(const std::vector<double>& y, double weight) {
  std::vector<double> out(y.size(), NAN);
  double last = 0;
  int n = 0;
  for (size_t i = 0; i < y.size(); ++i) {
    if (!std::isfinite(y[i])) continue;
    last = last * weight + (1 - weight) * y[i];
    ++n;
    out[i] = last / (1 - std::pow(weight, n));
  }
  return out;
}

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

std::string DrawLineChartSvg(const std::vector<Series>& series, const ChartOptions& o) {
  for (const auto& s : series)
    PRLM_CHECK_MSG(s.x.size() == s.y.size(), "series " << s.name << ": x and y differ in length");
  PRLM_CHECK_MSG(o.smoothing >= 0 && o.smoothing < 1, "smoothing " << o.smoothing << " is outside [0, 1)");
  const bool smooth = o.smoothing > 0;
  const Frame f{72, 48, o.width - 24.0, o.height - 56.0};
  double x_lo, x_hi, y_lo, y_hi;
  Range(series, true, &x_lo, &x_hi);
  Range(series, false, &y_lo, &y_hi);
  const auto px = [&](double x) { return f.left + (x - x_lo) / (x_hi - x_lo) * (f.right - f.left); };
  const auto py = [&](double y) { return f.bottom - (y - y_lo) / (y_hi - y_lo) * (f.bottom - f.top); };

  // 1. Canvas, title and the note on smoothing.
  std::string svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"" + std::to_string(o.width) + "\" height=\"" +
                    std::to_string(o.height) + "\" viewBox=\"0 0 " + std::to_string(o.width) + " " +
                    std::to_string(o.height) + "\" font-family=\"" + kFont + "\" fill=\"#282828\">\n";
  svg += "<rect width=\"100%\" height=\"100%\" fill=\"#ffffff\"/>\n";
  svg += Text(o.width / 2.0, 22, o.title, "middle", 16, " font-weight=\"bold\"");
  if (smooth)
    svg +=
        Text(o.width / 2.0, 38, "lines: moving average (smoothing " + Fmt("%.2g", o.smoothing) + "); faint: raw values",
             "middle", 11, " fill=\"#707070\"");

  // 2. Grid, ticks and their labels.
  const std::vector<double> x_ticks = NiceTicks(x_lo, x_hi, 8), y_ticks = NiceTicks(y_lo, y_hi, 6);
  const double x_spacing = x_ticks.size() > 1 ? x_ticks[1] - x_ticks[0] : 1;
  const double y_spacing = y_ticks.size() > 1 ? y_ticks[1] - y_ticks[0] : 1;
  svg += "<g stroke=\"#e4e4e4\" stroke-width=\"1\">\n";
  for (const double t : x_ticks)
    svg += "<line x1=\"" + Fmt("%.1f", px(t)) + "\" y1=\"" + Fmt("%.1f", f.top) + "\" x2=\"" + Fmt("%.1f", px(t)) +
           "\" y2=\"" + Fmt("%.1f", f.bottom) + "\"/>\n";
  for (const double t : y_ticks)
    svg += "<line x1=\"" + Fmt("%.1f", f.left) + "\" y1=\"" + Fmt("%.1f", py(t)) + "\" x2=\"" + Fmt("%.1f", f.right) +
           "\" y2=\"" + Fmt("%.1f", py(t)) + "\"/>\n";
  svg += "</g>\n";
  svg += "<rect x=\"" + Fmt("%.1f", f.left) + "\" y=\"" + Fmt("%.1f", f.top) + "\" width=\"" +
         Fmt("%.1f", f.right - f.left) + "\" height=\"" + Fmt("%.1f", f.bottom - f.top) +
         "\" fill=\"none\" stroke=\"#505050\" stroke-width=\"1\"/>\n";
  for (const double t : x_ticks) svg += Text(px(t), f.bottom + 16, TickLabel(t, x_spacing), "middle", 11);
  for (const double t : y_ticks) svg += Text(f.left - 6, py(t) + 4, TickLabel(t, y_spacing), "end", 11);
  svg += Text((f.left + f.right) / 2, o.height - 14.0, o.x_label, "middle", 13);
  if (!o.y_label.empty())
    svg += Text(18, (f.top + f.bottom) / 2, o.y_label, "middle", 13,
                " transform=\"rotate(-90 18 " + Fmt("%.1f", (f.top + f.bottom) / 2) + ")\"");

  // 3. The series: raw values faint behind their moving average.
  svg += "<g fill=\"none\" stroke-linejoin=\"round\" stroke-linecap=\"round\">\n";
  for (size_t i = 0; i < series.size(); ++i) {
    const auto& s = series[i];
    const char* colour = kPalette[i % (sizeof kPalette / sizeof kPalette[0])];
    const std::string raw = PathData(s.x, s.y, x_lo, x_hi, y_lo, y_hi, f);
    if (raw.empty()) continue;
    svg += "<path d=\"" + raw + "\" stroke=\"" + colour + "\" stroke-width=\"" + (smooth ? "1" : "2") + "\"" +
           (smooth ? " stroke-opacity=\"0.3\"" : "") + "/>\n";
    if (smooth)
      svg += "<path d=\"" + PathData(s.x, SmoothEma(s.y, o.smoothing), x_lo, x_hi, y_lo, y_hi, f) + "\" stroke=\"" +
             colour + "\" stroke-width=\"2.2\"/>\n";
  }
  svg += "</g>\n";

  // 4. The legend, top right inside the plot area.
  if (!series.empty()) {
    size_t longest = 0;
    for (const auto& s : series) longest = std::max(longest, s.name.size());
    const double w = 34 + 6.5 * static_cast<double>(longest), h = 8 + 17.0 * static_cast<double>(series.size());
    const double x0 = f.right - w - 8, y0 = f.top + 8;
    svg += "<rect x=\"" + Fmt("%.1f", x0) + "\" y=\"" + Fmt("%.1f", y0) + "\" width=\"" + Fmt("%.1f", w) +
           "\" height=\"" + Fmt("%.1f", h) + "\" fill=\"#ffffff\" fill-opacity=\"0.85\" stroke=\"#c8c8c8\"/>\n";
    for (size_t i = 0; i < series.size(); ++i) {
      const double y = y0 + 14 + 17.0 * static_cast<double>(i);
      svg += "<line x1=\"" + Fmt("%.1f", x0 + 6) + "\" y1=\"" + Fmt("%.1f", y - 4) + "\" x2=\"" + Fmt("%.1f", x0 + 24) +
             "\" y2=\"" + Fmt("%.1f", y - 4) + "\" stroke=\"" + kPalette[i % (sizeof kPalette / sizeof kPalette[0])] +
             "\" stroke-width=\"2.2\"/>\n";
      svg += Text(x0 + 30, y, series[i].name, "start", 12);
    }
  }
  svg += "</svg>\n";
  return svg;
}

}  // namespace prlm::monitor
