// The order in which training questions are used: each epoch is a fresh
// permutation of the data set drawn from (seed, epoch), cut into steps of
// `prompts_per_step` questions; the remainder of an epoch that does not fill
// a step is skipped (every step has the same size). The cursor (epoch,
// position) is all that a checkpoint needs to continue exactly, also at an
// epoch boundary.
//
// The permutation is our own Fisher-Yates over splitmix64, not std::shuffle
// (whose algorithm the standard leaves to the library), so a run reproduces
// on every platform. Thread-safety: immutable after construction.
#pragma once

#include <cstdint>
#include <vector>

namespace prlm::coordinator {

struct DataCursor {
  int64_t epoch = 0;
  int64_t position = 0;  // questions of this epoch already used
};

class DataOrder {
 public:
  // REQUIRES (throws util::Error): examples >= prompts_per_step >= 1.
  DataOrder(int64_t examples, int64_t prompts_per_step, uint64_t seed);

  int64_t steps_per_epoch() const { return examples_ / per_step_; }
  // The next step's question indices; advances the cursor (into the next
  // epoch when this one has no full step left).
  std::vector<int64_t> Next(DataCursor& cursor) const;
  std::vector<int64_t> Permutation(int64_t epoch) const;

 private:
  int64_t examples_, per_step_;
  uint64_t seed_;
};

}  // namespace prlm::coordinator
