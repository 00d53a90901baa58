// `prlm report`'s pipeline: SVG charts and a markdown summary of a training
// run, from its metrics.jsonl (keys: common/monitor/step_metrics.h) and
// status.json and checkpoints/ when there; or of every run under a
// pipeline's directory (its subdirectories with a metrics.jsonl, e.g.
// launch/demo's sft, sft_blind and grpo), with the eval tables that
// `prlm eval --out` wrote there (DIR/*.json) first.
//
//   OUT/[RUN-]reward.svg           score and each weighted reward component (grpo)
//   OUT/[RUN-]reward_parts.svg     the raw parts: ROUGE-1/2/L, the reward model's logit
//   OUT/[RUN-]loss.svg             sft loss (sft runs)
//   OUT/[RUN-]kl.svg               KL to the reference and PPO KL
//   OUT/[RUN-]response_length.svg  mean / max / min completion tokens
//   OUT/[RUN-]phase_time.svg       seconds per phase per step
//   OUT/report.md                  eval tables; per run: state, headline
//                                  figures, phase shares, the charts
//
// Charts draw each series' moving average over its faint raw values
// (common/monitor/svg_chart.h). Throws util::Error naming the file and line
// of a malformed metrics line, or the directory when it holds neither runs
// nor eval tables.
// Thread-safety: one call at a time per output directory.
#pragma once

#include <string>

namespace prlm::pipeline {

// Prints "wrote PATH" per file. `smoothing`: the charts' moving-average
// weight in [0, 1) (common/monitor/svg_chart.h; 0: raw values only).
void WriteRunReport(const std::string& dir, const std::string& out_dir, double smoothing = 0.6);

}  // namespace prlm::pipeline
