#include "pipeline/run_report.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/monitor/svg_chart.h"
#include "common/monitor/step_metrics.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "pipeline/eval_rows.h"

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

// One chart of the given keys that the run has, written to
// OUT/PREFIX+NAME.svg; false when the run has none of them.
bool Chart(const RunMetrics& m, const std::string& out_dir, const std::string& file, const std::string& title,
           const std::string& y_label, const std::vector<std::pair<std::string, std::string>>& keys_and_names,
           double smoothing) {
  std::vector<monitor::Series> series;
  for (const auto& [key, name] : keys_and_names)
    if (m.has(key)) series.push_back({name, m.steps, m.of(key)});
  if (series.empty()) return false;
  monitor::ChartOptions options;
  options.title = title;
  options.y_label = y_label;
  options.smoothing = smoothing;
  const std::string path = out_dir + "/" + file;
  util::WriteFileAtomic(path, monitor::DrawLineChartSvg(series, options));
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
  static const KeyNames phases = {{keys::Phase("retrieval"), "retrieval"},
                                  {keys::Phase("gen"), "generation"},
                                  {keys::Phase("reward"), "reward"},
                                  {keys::Phase("old_log_prob"), "old log-probs"},
                                  {keys::Phase("ref"), "ref log-probs"},
                                  {keys::Phase("update_actor"), "update"},
                                  {keys::Phase("sync_weights"), "weight sync"},
                                  {keys::kStepSeconds, "step"}};
  return phases;
}

// The charts the run has data for, each OUT/PREFIX<name>.svg; returns
// their file names.
std::vector<std::string> DrawCharts(const RunMetrics& m, const std::string& out, const std::string& prefix,
                                    double smoothing) {
  KeyNames rewards, parts;
  RewardKeys(m, &rewards, &parts);
  std::vector<std::string> plots;
  const auto chart = [&](const std::string& name, const std::string& title, const std::string& y_label,
                         const KeyNames& keys_and_names) {
    if (Chart(m, out, prefix + name + ".svg", title, y_label, keys_and_names, smoothing))
      plots.push_back(prefix + name + ".svg");
  };
  chart("reward", "reward per step (mean over the step's samples)", "reward", rewards);
  chart("reward_parts", "reward parts per step", "ROUGE F1 / reward-model logit", parts);
  chart("loss", "sft loss per step", "cross-entropy (nats per token)", {{keys::kSftLoss, "sft loss"}});
  chart("kl", "KL per step", "KL (nats per token)", {{keys::kKlLoss, "KL to reference"}, {keys::kPpoKl, "PPO KL"}});
  chart("response_length", "response length per step", "tokens",
        {{keys::kResponseLengthMean, "mean"}, {keys::kResponseLengthMax, "max"}, {keys::kResponseLengthMin, "min"}});
  chart("phase_time", "time per phase per step", "seconds", PhaseKeys());
  return plots;
}

// State, step count and checkpoints of the run.
std::string RunState(const std::string& run, const RunMetrics& m) {
  std::string md =
      "- steps recorded: " + std::to_string(m.steps.size()) + " (last: step " + Num(m.steps.back()) + ")\n";
  const std::string status_path = run + "/status.json";
  const Json status = fs::exists(status_path) ? Json::parse(util::ReadFile(status_path), nullptr, false) : Json();
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
                        keys::kResponseLengthMean, keys::kResponseClipRatio, keys::kFracRewardZeroStd, keys::kStaleness,
                        keys::kRetrievalRetries, keys::kRewardRetries, keys::kStepSeconds, keys::kThroughput})
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
  std::string md =
      "\n## Where a step's time goes\n\nMean over " + std::to_string(m.steps.size() - skip) + " steps" +
      (skip ? " (the first, a warm-up, left out)" : "") + ": " + Num(step_s) + " s/step" +
      (m.has(keys::kThroughput) ? ", " + Num(Summarize(m.of(keys::kThroughput), skip).mean) + " tokens/s" : "") +
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

// The runs under DIR: DIR itself when it has metrics.jsonl, else its
// subdirectories that have one (a pipeline's directory: sft, grpo, ...).
std::vector<std::string> FindRuns(const std::string& dir) {
  if (fs::exists(dir + "/metrics.jsonl")) return {dir};
  std::vector<std::string> runs;
  if (fs::is_directory(dir))
    for (const auto& e : fs::directory_iterator(dir))
      if (e.is_directory() && fs::exists(e.path() / "metrics.jsonl")) runs.push_back(e.path().string());
  std::sort(runs.begin(), runs.end());
  return runs;
}

// DIR/*.json files that `prlm eval --out` wrote: a list of rows, each with a
// name, a model and n.
std::vector<std::pair<std::string, nlohmann::ordered_json>> FindEvalTables(const std::string& dir) {
  std::vector<std::pair<std::string, nlohmann::ordered_json>> tables;
  if (!fs::is_directory(dir)) return tables;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().extension() != ".json") continue;
    auto rows = nlohmann::ordered_json::parse(util::ReadFile(e.path().string()), nullptr, false);
    const bool eval_rows = rows.is_array() && !rows.empty() && std::all_of(rows.begin(), rows.end(), [](const auto& r) {
                             return r.is_object() && r.contains("name") && r.contains("model") && r.contains("n");
                           });
    if (eval_rows) tables.emplace_back(e.path().filename().string(), std::move(rows));
  }
  std::sort(tables.begin(), tables.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return tables;
}

// One run's section: state, headline figures, phase shares, its charts.
std::string RunSection(const std::string& run, const std::string& out, const std::string& prefix, int level,
                       double smoothing) {
  const RunMetrics m = ReadMetrics(run + "/metrics.jsonl");
  const std::vector<std::string> plots = DrawCharts(m, out, prefix, smoothing);
  const std::string h(static_cast<size_t>(level), '#');
  std::string md = RunState(run, m) + "\n" + h + " Headline figures\n\n" + HeadlineTable(m);
  std::string phases = PhaseShares(m);
  if (level > 2 && !phases.empty()) phases.replace(phases.find("## "), 3, h + " ");
  md += phases + "\n" + h + " Plots\n\n";
  for (const auto& p : plots) md += "![" + p + "](" + p + ")\n\n";
  return md;
}

}  // namespace

void WriteRunReport(const std::string& dir, const std::string& out, double smoothing) {
  PRLM_REQUIRE(smoothing >= 0 && smoothing < 1, "report: --smoothing must be in [0, 1), got " << smoothing);
  // 1. What the directory holds: one run or several, and eval tables.
  const std::vector<std::string> runs = FindRuns(dir);
  const auto evals = FindEvalTables(dir);
  PRLM_REQUIRE(
      !runs.empty() || !evals.empty(),
      dir << ": no metrics.jsonl here or in its subdirectories, and no eval table (*.json from prlm eval --out);"
             " give a directory `prlm train` wrote (trainer.output_dir) or one holding such directories");
  fs::create_directories(out);
  std::string md = "# Run report: " + dir + "\n\n";
  // 2. The held-out evaluations, first: they answer whether training helped.
  for (const auto& [file, rows] : evals) md += "## Evaluation: " + file + "\n\n" + EvalMarkdownTable(rows) + "\n";
  // 3. Each run with its charts.
  if (runs.size() == 1 && runs[0] == dir) {
    md += RunSection(dir, out, "", 2, smoothing);
  } else {
    for (const auto& run : runs) {
      const std::string name = fs::path(run).filename().string();
      md += "## Run: " + name + "\n\n" + RunSection(run, out, name + "-", 3, smoothing);
    }
  }
  util::WriteFileAtomic(out + "/report.md", md);
  std::printf("wrote %s/report.md\n", out.c_str());
}

}  // namespace prlm::pipeline
