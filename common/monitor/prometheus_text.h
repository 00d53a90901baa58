// Prometheus' text exposition format (version 0.0.4): what a /metrics
// endpoint answers. A family is one metric name with its HELP and TYPE lines
// and one sample per label set:
//     # HELP prlm_phase_seconds Wall time of each phase of the last step.
//     # TYPE prlm_phase_seconds gauge
//     prlm_phase_seconds{phase="gen"} 0.42
// Names keep [a-zA-Z0-9_:] (others become '_'); label values are escaped
// (backslash, double quote, newline); NaN and infinities are written as
// Prometheus spells them.
// Thread-safety: plain values and pure functions.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace prlm::monitor {

struct MetricSample {
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct MetricFamily {
  std::string name;  // already prefixed, e.g. prlm_step
  std::string help;
  std::string type;  // gauge | counter
  std::vector<MetricSample> samples;
};

// "actor/pg_loss" -> "actor_pg_loss": a valid metric (or label) name.
std::string PrometheusName(const std::string& text);

// Families in the order given; each name must be unique (CHECKed).
std::string RenderPrometheusText(const std::vector<MetricFamily>& families);

}  // namespace prlm::monitor
