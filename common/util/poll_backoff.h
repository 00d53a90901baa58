// The sleeps between polls of something another process finishes (an MPI
// request or message, a CUDA stream): 50 us, doubling up to 1 ms.
//
// Why not block: MPI_Wait and cudaStreamSynchronize spin a core, which on a
// small host takes it from the ranks that compute. Why a 1 ms cap: a waiter
// notices within 1 ms that its wait is over. A rank waits for the next one
// several times a step (coordinator, rollout worker, learner in turn), so a
// larger cap adds up: with 20 ms, the demo's first sft stage took 0.436 s a
// step against 0.371 s with 1 ms (two rounds each, alternating), its prompt
// phase 40 ms against 3 ms.
//
// Thread-compatible: one PollBackoff per wait.
#pragma once

#include <algorithm>
#include <chrono>
#include <thread>

namespace prlm::util {

class PollBackoff {
 public:
  static constexpr std::chrono::microseconds kFirst{50};
  static constexpr std::chrono::microseconds kCap{1000};

  // Sleeps, then doubles the next sleep up to kCap.
  void Sleep() {
    std::this_thread::sleep_for(next_);
    next_ = std::min(next_ * 2, kCap);
  }

 private:
  std::chrono::microseconds next_ = kFirst;
};

}  // namespace prlm::util
