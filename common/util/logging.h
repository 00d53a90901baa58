// Logging of a training job's ranks (spdlog): every line carries the time,
// the rank and its role, e.g.
//   [2026-11-23 16:40:01.123] [rank 3 rollout 1] [info] step 4: 32 samples ...
// Each rank writes RUN_DIR/logs/rank-R.log at the configured level; the
// console gets the coordinator's info lines (the per-step progress) and every
// rank's warnings and errors.
// Thread-safety: call InitRankLogging once, before other threads log; spdlog's
// loggers are thread-safe afterwards.
#pragma once

#include <spdlog/spdlog.h>

#include <string>

namespace prlm {

// level: debug | info | warn.
void InitRankLogging(const std::string& log_dir, int rank, const std::string& role, const std::string& level,
                     bool console_info);

}  // namespace prlm
