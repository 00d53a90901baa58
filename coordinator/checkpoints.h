// The checkpoints of a run directory and the coordinator's part of them.
//
//   RUN/checkpoints/step-00000004/
//     policy/             Hugging Face layout (learner 0), adapter/ with LoRA
//     learner/            optimizer.pt, learner_state.json (learner 0)
//     rng/learner-I.pt    each learner's torch CPU generator
//     manifest.json       every file above: size and CRC-32C
//     em_kept.binpb       objective rest: the iteration's kept set (proto KeptSet)
//     rollout_weights/vN.bin  the older weight versions of steps still out
//                         at a preemption (grpo.max_staleness >= 2; learner 0)
//     trainer_state.json  step, data cursor, weight version, the steps out
//                         and their versions (written last)
//
// Everything is written into step-00000004.tmp and the directory is renamed
// when every part is there, so a directory named step-N is complete: a job
// that dies while writing leaves only a .tmp, which resume ignores (and the
// next save replaces). A checkpoint damaged later (a truncated or
// overwritten file, a file gone) fails its manifest check: resume=auto then
// warns and takes the previous one.
// Thread-safety: plain functions over the file system.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "coordinator/data_order.h"
#include "proto/train.pb.h"

namespace prlm::coordinator {

struct TrainerState {
  int64_t step = 0;  // steps completed
  DataCursor cursor;
  int64_t weight_version = 0;
  int64_t total_steps = 0;
  // Steps whose work was out when the checkpoint was taken, and the weight
  // version each went out with (a preemption at grpo.max_staleness >= 2):
  // the resumed run posts them again with those versions.
  std::vector<std::pair<int64_t, int64_t>> out_steps;
};

std::string CheckpointDir(const std::string& run_dir, int64_t step);
// Complete checkpoints, oldest first.
std::vector<std::string> ListCheckpoints(const std::string& run_dir);
// "" -> ""; "auto" -> the newest checkpoint that passes VerifyCheckpoint
// (warning about each newer one that does not), or "" when there is none; a
// path -> that path, which must pass VerifyCheckpoint. Throws util::Error
// naming the file and the fault when the given path is damaged, or when
// checkpoints exist but every one is damaged (starting over silently would
// discard the run).
std::string ResolveResume(const std::string& run_dir, const std::string& resume);

// A policy directory as model.policy names it: a training run's directory
// (checkpoints/ and no config.json) -> its newest intact checkpoint's policy;
// anything else -> itself. Throws util::Error when the run has no intact
// checkpoint.
std::string PolicyOfRun(const std::string& dir);

// Records every file under dir (but manifest.json and trainer_state.json)
// with its size and CRC-32C in dir/manifest.json.
void WriteManifest(const std::string& dir);
// "" when dir's trainer_state.json reads and every file of its manifest is
// there with the recorded size and CRC-32C; otherwise what is wrong, naming
// the file. A checkpoint without a manifest (older prlm) is checked for its
// trainer state only.
std::string VerifyCheckpoint(const std::string& dir);

void WriteTrainerState(const std::string& dir, const TrainerState& state);
// Throws util::Error naming the file and the missing or malformed key.
TrainerState ReadTrainerState(const std::string& dir);

// dir/em_kept.binpb (objective rest). Read throws util::Error naming the
// file when it is missing or does not parse.
void WriteKeptSet(const std::string& dir, const proto::KeptSet& kept);
proto::KeptSet ReadKeptSet(const std::string& dir);

// Renames dir + ".tmp" to dir, then removes all but the newest `keep_last`.
void CommitCheckpoint(const std::string& run_dir, const std::string& dir, int64_t keep_last);

}  // namespace prlm::coordinator
