// Logging of a training job's ranks (spdlog): every line carries the time,
// the rank, its role and the step it is working on ("-" before the first), e.g.
//   [2026-11-23 16:40:01.123] [rank 3 rollout 1] [step 4] [info] 32 samples ...
// Each rank writes RUN_DIR/logs/rank-R.log at the configured level; the
// console gets the coordinator's info lines (the per-step progress) and every
// rank's warnings and errors.
// Thread-safety: call InitRankLogging once, before other threads log; spdlog's
// loggers are thread-safe afterwards. SetLogStep from the rank's main thread.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace prlm::util {

// level: debug | info | warn.
void InitRankLogging(const std::string& log_dir, int rank, const std::string& role, const std::string& level,
                     bool console_info);
// The step later lines carry (1-based: the step being worked on).
void SetLogStep(int64_t step);

}  // namespace prlm::util
