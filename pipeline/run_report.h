// `prlm report`'s pipeline: plots and a markdown summary of a training run,
// from its metrics.jsonl (keys: common/monitor/step_metrics.h) and
// status.json and checkpoints/ when there.
//
//   OUT/reward.png           score and each weighted reward component (grpo)
//   OUT/reward_parts.png     the raw parts: ROUGE-1/2/L, the reward model's logit
//   OUT/loss.png             sft loss (sft runs)
//   OUT/kl.png               KL to the reference and PPO KL
//   OUT/response_length.png  mean / max / min completion tokens
//   OUT/phase_time.png       seconds per phase per step
//   OUT/report.md            state, headline figures, phase shares, the plots
//
// Throws prlm::Error naming the file and line of a malformed metrics line.
// Thread-safety: one call at a time per output directory.
#pragma once

#include <string>

namespace prlm::pipeline {

// Prints "wrote PATH" per file.
void WriteRunReport(const std::string& run_dir, const std::string& out_dir);

}  // namespace prlm::pipeline
