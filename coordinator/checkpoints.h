// The checkpoints of a run directory and the coordinator's part of them.
//
//   RUN/checkpoints/step-00000004/
//     policy/             Hugging Face layout (learner 0), adapter/ with LoRA
//     learner/            optimizer.pt, learner_state.json (learner 0)
//     rng/learner-I.pt    each learner's torch CPU generator
//     trainer_state.json  step, data cursor, weight version (written last)
//
// Everything is written into step-00000004.tmp and the directory is renamed
// when every part is there, so a directory named step-N is complete: a job
// that dies while writing leaves only a .tmp, which resume ignores (and the
// next save replaces).
// Thread-safety: plain functions over the file system.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "coordinator/data_order.h"

namespace prlm::coordinator {

struct TrainerState {
  int64_t step = 0;             // steps completed
  DataCursor cursor;
  int64_t weight_version = 0;
  int64_t total_steps = 0;
};

std::string CheckpointDir(const std::string& run_dir, int64_t step);
// Complete checkpoints, oldest first.
std::vector<std::string> ListCheckpoints(const std::string& run_dir);
// "" -> ""; "auto" -> the newest complete checkpoint or "" when there is
// none; a path -> that path, which must hold trainer_state.json (throws
// prlm::Error naming it otherwise).
std::string ResolveResume(const std::string& run_dir, const std::string& resume);

void WriteTrainerState(const std::string& dir, const TrainerState& state);
// Throws prlm::Error naming the file and the missing or malformed key.
TrainerState ReadTrainerState(const std::string& dir);

// Renames dir + ".tmp" to dir, then removes all but the newest `keep_last`.
void CommitCheckpoint(const std::string& run_dir, const std::string& dir, int64_t keep_last);

}  // namespace prlm::coordinator
