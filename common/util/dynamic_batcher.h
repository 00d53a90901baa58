// Dynamic batching for serving tiers: jobs submitted from many threads are
// grouped into batches that run on a small pool of executor threads.
//
// Policy (Triton's, in short): a batch is cut when an executor is free and
// either the queued jobs fill max_batch_size sequences or max_batch_tokens
// tokens, or the oldest queued job has waited max_queue_delay. Jobs are taken
// in arrival order and never split; a job larger than the limits runs alone.
// While every executor is busy the queue keeps growing, so batches grow with
// load. A job whose deadline passes while queued is taken out at once and
// handed to the `expired` callback instead of running, and counted.
//
// Stop() drains: queued jobs still run (or expire), then the threads join.
// Submit() after Stop() returns kStopped.
//
// Thread-safety: Submit / Stop / stats from any thread. run_batch is called on
// executor threads (one batch per executor at a time), expired on the
// scheduling thread; neither is called with the batcher's lock held.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace prlm::util {

class DynamicBatcher {
 public:
  using Clock = std::chrono::steady_clock;

  struct Job {
    virtual ~Job() = default;
    int64_t sequences = 1;
    int64_t tokens = 0;
    Clock::time_point deadline = Clock::time_point::max();
    Clock::time_point enqueued;  // set by Submit
  };
  using JobPtr = std::shared_ptr<Job>;

  struct Options {
    int64_t max_batch_size = 32;   // sequences per batch
    int64_t max_batch_tokens = 0;  // 0: no token limit
    std::chrono::microseconds max_queue_delay{2000};
    int executors = 1;
    int64_t max_queued_sequences = 1 << 20;  // Submit refuses beyond this
  };

  struct Callbacks {
    std::function<void(std::vector<JobPtr>& batch)> run_batch;
    std::function<void(const JobPtr& job)> expired;
  };

  struct Stats {
    uint64_t jobs_submitted = 0, jobs_run = 0, jobs_expired = 0, jobs_refused = 0;
    uint64_t batches = 0, batched_sequences = 0;
    uint64_t queued_jobs = 0, queued_sequences = 0;  // now
    uint64_t max_batch_sequences_seen = 0;
  };

  DynamicBatcher(Options options, Callbacks callbacks);
  ~DynamicBatcher();  // Stop()
  DynamicBatcher(const DynamicBatcher&) = delete;
  DynamicBatcher& operator=(const DynamicBatcher&) = delete;

  enum class Submitted { kQueued, kQueueFull, kStopped };
  // kQueueFull when the queue holds max_queued_sequences already.
  // REQUIRES: job->sequences >= 1.
  Submitted Submit(JobPtr job);
  void Stop();
  Stats stats() const;
  const Options& options() const { return options_; }

 private:
  void Schedule();
  void Execute();
  // With mu_ held: does the queue make a batch now? Otherwise *wake is when it will.
  bool BatchReady(Clock::time_point now, Clock::time_point* wake) const;

  const Options options_;
  const Callbacks callbacks_;
  mutable std::mutex mu_;
  std::condition_variable scheduler_cv_, executor_cv_;
  std::deque<JobPtr> queue_;                       // guarded by mu_
  std::deque<std::vector<JobPtr>> ready_batches_;  // guarded by mu_
  int free_executors_;                             // guarded by mu_
  bool stopping_ = false;                          // guarded by mu_
  bool scheduler_done_ = false;                    // guarded by mu_
  Stats stats_;                                    // guarded by mu_
  std::thread scheduler_;
  std::vector<std::thread> executors_;
};

}  // namespace prlm::util
