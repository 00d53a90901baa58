// How a step's sequences reach the learners: first cut into micro-batches,
// then micro-batches dealt to learners, both balanced by token count.
//
// Micro-batches do not depend on the number of learners: sequences are
// sorted by length (longest first, ties by index) and cut into runs of
// `micro_batch_size`, so rows of one forward have similar lengths (little
// padding); but the sequences of one group (the samples of one prompt) stay
// together, since rows that share a prompt in one micro-batch score it once
// (learner/policy_batch.h): groups go longest sequence first, and within a
// group its sequences longest first. Micro-batches then go, longest first,
// to the learner with the fewest tokens so far (ties: the lower index).
// Because the learners' gradient is the mean over micro-batches
// (policy_learner.h), any number of learners makes the same update.
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace prlm::coordinator {

// Sequence indices per micro-batch; group_of[i] names sequence i's group.
// REQUIRES: micro_batch_size >= 1; group_of as long as sequence_tokens.
std::vector<std::vector<size_t>> PlanMicroBatches(const std::vector<int64_t>& sequence_tokens,
                                                  const std::vector<int64_t>& group_of, int64_t micro_batch_size);

// The learner of each micro-batch. REQUIRES: learners >= 1.
std::vector<int> AssignToLearners(const std::vector<int64_t>& micro_batch_tokens, int learners);

}  // namespace prlm::coordinator
