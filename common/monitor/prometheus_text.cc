#include "common/monitor/prometheus_text.h"

#include <cmath>
#include <cstdio>
#include <set>

#include "common/util/check.h"

namespace prlm::monitor {
namespace {

std::string FormatValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.17g", v);
  return buf;
}

// Backslash and newline are escaped in HELP text and label values; double
// quotes only in label values.
std::string Escape(const std::string& s, bool quotes) {
  std::string out;
  for (char c : s) {
    if (c == '\\')
      out += "\\\\";
    else if (c == '\n')
      out += "\\n";
    else if (c == '"' && quotes)
      out += "\\\"";
    else
      out += c;
  }
  return out;
}

}  // namespace

std::string PrometheusName(const std::string& text) {
  std::string out;
  for (char c : text) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':';
    out += ok ? c : '_';
  }
  if (out.empty() || (out[0] >= '0' && out[0] <= '9')) out = "_" + out;
  return out;
}

std::string RenderPrometheusText(const std::vector<MetricFamily>& families) {
  std::string out;
  std::set<std::string> seen;
  for (const auto& f : families) {
    PRLM_CHECK_MSG(seen.insert(f.name).second, "metric family " << f.name << " twice");
    PRLM_CHECK(f.type == "gauge" || f.type == "counter");
    out += "# HELP " + f.name + " " + Escape(f.help, false) + "\n";
    out += "# TYPE " + f.name + " " + f.type + "\n";
    for (const auto& s : f.samples) {
      out += f.name;
      if (!s.labels.empty()) {
        out += "{";
        bool first = true;
        for (const auto& [k, v] : s.labels) {
          out += (first ? "" : ",") + PrometheusName(k) + "=\"" + Escape(v, true) + "\"";
          first = false;
        }
        out += "}";
      }
      out += " " + FormatValue(s.value) + "\n";
    }
  }
  return out;
}

}  // namespace prlm::monitor
