#include "pipeline/run_report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/monitor/line_chart.h"
#include "common/monitor/step_metrics.h"
#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::pipeline {
namespace {

namespace fs = std::filesystem;
namespace keys = monitor::keys;
using Json = nlohmann::json;

// Every key's value per step (NaN where a step lacks it).
struct RunMetrics {
  std::vector<double> steps;
  std::map<std::string, std::vector<double>> values;
  bool has(const std::string& key) const { return values.count(key) > 0; }
  const std::vector<double>& of(const std::string& key) const { return values.at(key); }
};

RunMetrics ReadMetrics(const std::string& path) {
  std::ifstream in(path);
  PRLM_REQUIRE(in, path << ": cannot be opened (is this a run directory? `prlm train` writes metrics.jsonl)");
  RunMetrics m;
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const Json j = Json::parse(line, nullptr, false);
    PRLM_REQUIRE(j.is_object(), path << ":" << line_no << ": not a JSON object");
    PRLM_REQUIRE(j.contains(keys::kGlobalStep) && j[keys::kGlobalStep].is_number(),
                 path << ":" << line_no << ": no " << keys::kGlobalStep);
    const size_t row = m.steps.size();
    m.steps.push_back(j[keys::kGlobalStep].get<double>());
    for (const auto& [key, value] : j.items()) {
      if (!value.is_number()) continue;
      auto& column = m.values[key];
      column.resize(row, NAN);
      column.push_back(value.get<double>());
    }
    for (auto& [key, column] : m.values) column.resize(row + 1, NAN);
  }
  PRLM_REQUIRE(!m.steps.empty(), path << ": no steps yet");
  return m;
}

struct Summary {
  double first = NAN, last = NAN, min = NAN, max = NAN, mean = NAN;
};
Summary Summarize(const std::vector<double>& v, size_t skip = 0) {
  Summary s;
  double sum = 0;
  size_t n = 0;
  for (size_t i = skip; i < v.size(); ++i) {
    if (!std::isfinite(v[i])) continue;
    if (n == 0) s.first = s.min = s.max = v[i];
    s.last = v[i];
    s.min = std::min(s.min, v[i]);
    s.max = std::max(s.max, v[i]);
    sum += v[i];
    ++n;
  }
  if (n) s.mean = sum / static_cast<double>(n);
  return s;
}

std::string Num(double v) {
  if (!std::isfinite(v)) return "-";
  char buf[32];
  std::snprintf(buf, sizeof buf, std::abs(v) >= 1000 || v == std::floor(v) ? "%.0f" : "%.4g", v);
  return buf;
}

// One chart of the given keys that the run has; false when it has none.
bool Chart(const RunMetrics& m, const std::string& out_dir, const std::string& file, const std::string& title,
           const std::vector<std::pair<std::string, std::string>>& keys_and_names) {
  std::vector<monitor::Series> series;
  for (const auto& [key, name] : keys_and_names)
    if (m.has(key)) series.push_back({name, m.steps, m.of(key)});
  if (series.empty()) return false;
  const std::string path = out_dir + "/" + file;
  WriteFileAtomic(path, monitor::DrawLineChart(title, "step", series).EncodePng());
  std::printf("wrote %s\n", path.c_str());
  return true;
}

// Reward keys: the score and the weighted components on one chart; the raw
// parts (ROUGE-1/2/L, the reward model's logit) on their own scale.
using KeyNames = std::vector<std::pair<std::string, std::string>>;
void RewardKeys(const RunMetrics& m, KeyNames* rewards, KeyNames* parts) {
  *rewards = {{keys::kScoreMean, "score"}};
  for (const auto& [key, column] : m.values)
    if (const auto name = keys::RewardComponentOf(key))
      (*name == "accuracy" || *name == "format" || *name == "personalization" ? rewards : parts)
          ->emplace_back(key, *name);
}

const KeyNames& PhaseKeys() {
  static const KeyNames phases = {
      {keys::Phase("retrieval"), "retrieval"},       {keys::Phase("gen"), "generation"},
      {keys::Phase("reward"), "reward"},             {keys::Phase("old_log_prob"), "old log-probs"},
      {keys::Phase("ref"), "ref log-probs"},         {keys::Phase("update_actor"), "update"},
      {keys::Phase("sync_weights"), "weight sync"}, {keys::kStepSeconds, "step"}};
  return phases;
}

// The charts the run has data for; returns their names.
std::vector<std::string> DrawCharts(const RunMetrics& m, const std::string& out) {
  KeyNames rewards, parts;
  RewardKeys(m, &rewards, &parts);
  std::vector<std::string> plots;
  if (Chart(m, out, "reward.png", "reward per step", rewards)) plots.push_back("reward");
  if (Chart(m, out, "reward_parts.png", "reward parts per step", parts)) plots.push_back("reward_parts");
  if (Chart(m, out, "loss.png", "sft loss per step", {{keys::kSftLoss, "sft loss"}})) plots.push_back("loss");
  if (Chart(m, out, "kl.png", "KL per step", {{keys::kKlLoss, "KL to reference"}, {keys::kPpoKl, "PPO KL"}}))
    plots.push_back("kl");
  if (Chart(m, out, "response_length.png", "response length (tokens)",
            {{keys::kResponseLengthMean, "mean"}, {keys::kResponseLengthMax, "max"}, {keys::kResponseLengthMin, "min"}}))
    plots.push_back("response_length");
  if (Chart(m, out, "phase_time.png", "seconds per phase per step", PhaseKeys())) plots.push_back("phase_time");
  return plots;
}

// State, step count and checkpoints of the run.
std::string RunState(const std::string& run, const RunMetrics& m) {
  std::string md = "- steps recorded: " + std::to_string(m.steps.size()) + " (last: step " + Num(m.steps.back()) + ")\n";
  const std::string status_path = run + "/status.json";
  const Json status = fs::exists(status_path) ? Json::parse(ReadFile(status_path), nullptr, false) : Json();
  if (status.is_object())
    md += "- state: " + status.value("state", std::string("?")) + " at step " +
          std::to_string(status.value("step", 0)) +
          (status.contains("total_steps") ? " of " + std::to_string(status.value("total_steps", 0)) : "") + "\n";
  if (fs::is_directory(run + "/checkpoints")) {
    std::vector<std::string> names;
    for (const auto& e : fs::directory_iterator(run + "/checkpoints")) names.push_back(e.path().filename().string());
    std::sort(names.begin(), names.end());
    std::string list;
    for (const auto& n : names) list += (list.empty() ? "" : ", ") + n;
    md += "- checkpoints: " + (list.empty() ? std::string("none") : list) + "\n";
  }
  return md;
}

// First / last / min / max / mean of the headline keys the run has.
std::string HeadlineTable(const RunMetrics& m) {
  KeyNames rewards, parts;
  RewardKeys(m, &rewards, &parts);
  std::vector<std::string> headline;
  for (const auto& [key, name] : rewards) headline.push_back(key);
  for (const auto& [key, name] : parts) headline.push_back(key);
  for (const char* k : {keys::kSftLoss, keys::kPgLoss, keys::kKlLoss, keys::kEntropy, keys::kGradNorm, keys::kLr,
                        keys::kResponseLengthMean, keys::kResponseClipRatio, keys::kFracRewardZeroStd,
                        keys::kStaleness, keys::kRetrievalRetries, keys::kRewardRetries, keys::kStepSeconds,
                        keys::kThroughput})
    headline.push_back(k);
  std::string md = "| metric | first | last | min | max | mean |\n|---|---|---|---|---|---|\n";
  for (const auto& key : headline) {
    if (!m.has(key)) continue;
    const Summary s = Summarize(m.of(key));
    md += "| " + key + " | " + Num(s.first) + " | " + Num(s.last) + " | " + Num(s.min) + " | " + Num(s.max) + " | " +
          Num(s.mean) + " |\n";
  }
  return md;
}

// Each phase's share of a step, the first step left out when there are more
// (warm-up); "" when the run has no step times.
std::string PhaseShares(const RunMetrics& m) {
  if (!m.has(keys::kStepSeconds)) return "";
  const size_t skip = m.steps.size() > 2 ? 1 : 0;
  const double step_s = Summarize(m.of(keys::kStepSeconds), skip).mean;
  std::string md = "\n## Where a step's time goes\n\nMean over " + std::to_string(m.steps.size() - skip) + " steps" +
                   (skip ? " (the first, a warm-up, left out)" : "") + ": " + Num(step_s) + " s/step" +
                   (m.has(keys::kThroughput) ? ", " + Num(Summarize(m.of(keys::kThroughput), skip).mean) + " tokens/s"
                                             : "") +
                   ".\n\n| phase | mean s | share of step |\n|---|---|---|\n";
  const auto row = [&md, step_s](const std::string& name, double seconds) {
    char share[32];
    std::snprintf(share, sizeof share, "%.1f%%", 100 * seconds / step_s);
    md += "| " + name + " | " + Num(seconds) + " | " + share + " |\n";
  };
  double covered = 0;
  for (const auto& [key, name] : PhaseKeys()) {
    if (key == keys::kStepSeconds || !m.has(key)) continue;
    const double mean = Summarize(m.of(key), skip).mean;
    if (!std::isfinite(mean)) continue;
    covered += mean;
    row(name, mean);
  }
  row("other (messages, advantages, planning, waits)", step_s - covered);
  return md;
}

}  // namespace

void WriteRunReport(const std::string& run, const std::string& out) {
  const RunMetrics m = ReadMetrics(run + "/metrics.jsonl");
  fs::create_directories(out);
  // 1. The plots.
  const std::vector<std::string> plots = DrawCharts(m, out);
  // 2. The summary.
  std::string md = "# Run report: " + run + "\n\n" + RunState(run, m);
  md += "\n## Headline figures\n\n" + HeadlineTable(m) + PhaseShares(m);
  md += "\n## Plots\n\n";
  for (const auto& p : plots) md += "![" + p + "](" + p + ".png)\n\n";
  WriteFileAtomic(out + "/report.md", md);
  std::printf("wrote %s/report.md\n", out.c_str());
}

}  // namespace prlm::pipeline
