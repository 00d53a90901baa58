// RUN/status.json: what state a training run is in, for job scripts and
// requeue logic (launch/prlm.sbatch reads it). One JSON object:
//   {"state": "running" | "finished" | "stopped" | "preempted" | "failed",
//    "step": N, ...}
// "failed" adds "message" (the fatal error) and "who" (the rank that hit it).
// Written atomically (rename); the coordinator writes the first four ("running"
// after every step, with the step just done), any rank that ends the job
// through a fatal error writes "failed" (AbortJob's hook), keeping the step the
// file had. The first failure stays: a rank that fails later because its peers
// are gone does not overwrite it. When no rank could write it (a lost host,
// a SIGKILL), the launcher does: `prlm train --mark-failed` (launch/run,
// launch/prlm.sbatch).
// Thread-safety: call from one thread at a time per run directory.
#pragma once

#include <cstdint>
#include <string>

namespace prlm::comm {

// REQUIRES: run_dir exists. total_steps < 0 leaves it out.
void WriteRunStatus(const std::string& run_dir, const std::string& state, int64_t step, int64_t total_steps = -1);

// The "state" of RUN/status.json, or "" when there is no such file (or it
// is not a status object).
std::string ReadRunState(const std::string& run_dir);

// Best effort (a fatal path must not throw): creates the directory if needed
// and writes "failed" with the message; errors are printed, not raised.
void MarkRunFailed(const std::string& run_dir, const std::string& who, const std::string& message) noexcept;

}  // namespace prlm::comm
