#include "common/util/dynamic_batcher.h"

#include <algorithm>
#include <cstdio>
#include <exception>

#include "common/util/check.h"

namespace prlm::util {

DynamicBatcher::DynamicBatcher(Options options, Callbacks callbacks)
    : options_(options), callbacks_(std::move(callbacks)), free_executors_(std::max(1, options.executors)) {
  PRLM_CHECK(callbacks_.run_batch && callbacks_.expired);
  PRLM_CHECK(options_.max_batch_size >= 1);
  scheduler_ = std::thread([this] { Schedule(); });
  for (int i = 0; i < free_executors_; ++i) executors_.emplace_back([this] { Execute(); });
}

DynamicBatcher::~DynamicBatcher() { Stop(); }

DynamicBatcher::Submitted DynamicBatcher::Submit(JobPtr job) {
  PRLM_CHECK(job && job->sequences >= 1);
  std::lock_guard<std::mutex> lock(mu_);
  const bool full =
      !queue_.empty() && int64_t(stats_.queued_sequences) + job->sequences > options_.max_queued_sequences;
  if (stopping_ || full) {
    ++stats_.jobs_refused;
    return stopping_ ? Submitted::kStopped : Submitted::kQueueFull;
  }
  job->enqueued = Clock::now();
  ++stats_.jobs_submitted;
  ++stats_.queued_jobs;
  stats_.queued_sequences += job->sequences;
  queue_.push_back(std::move(job));
  scheduler_cv_.notify_one();
  return Submitted::kQueued;
}

void DynamicBatcher::Stop() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stopping_ = true;
  }
  scheduler_cv_.notify_all();
  if (scheduler_.joinable()) scheduler_.join();
  for (auto& t : executors_)
    if (t.joinable()) t.join();
}

DynamicBatcher::Stats DynamicBatcher::stats() const {
  std::lock_guard<std::mutex> lock(mu_);
  return stats_;
}

bool DynamicBatcher::BatchReady(Clock::time_point now, Clock::time_point* wake) const {
  if (stopping_) return true;  // drain without waiting for company
  if (int64_t(stats_.queued_sequences) >= options_.max_batch_size) return true;
  if (options_.max_batch_tokens > 0) {
    int64_t tokens = 0;
    for (const auto& job : queue_) tokens += job->tokens;
    if (tokens >= options_.max_batch_tokens) return true;
  }
  const auto due = queue_.front()->enqueued + options_.max_queue_delay;
  if (now >= due) return true;
  *wake = due;
  return false;
}

void DynamicBatcher::Schedule() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    const auto now = Clock::now();
    // 1. Take out every job whose deadline has passed; answer them unlocked.
    std::vector<JobPtr> expired;
    for (auto it = queue_.begin(); it != queue_.end();) {
      if ((*it)->deadline <= now) {
        stats_.queued_sequences -= (*it)->sequences;
        --stats_.queued_jobs;
        ++stats_.jobs_expired;
        expired.push_back(std::move(*it));
        it = queue_.erase(it);
      } else {
        ++it;
      }
    }
    if (!expired.empty()) {
      lock.unlock();
      for (const auto& job : expired) callbacks_.expired(job);
      expired.clear();
      lock.lock();
      continue;
    }
    if (queue_.empty()) {
      if (stopping_) break;
      scheduler_cv_.wait(lock);
      continue;
    }
    // 2. Wake for the earliest deadline at the latest.
    Clock::time_point wake = Clock::time_point::max();
    for (const auto& job : queue_) wake = std::min(wake, job->deadline);
    // 3. Cut a batch when an executor is free and the queue is ready.
    if (free_executors_ > 0) {
      Clock::time_point due = Clock::time_point::max();
      if (BatchReady(now, &due)) {
        std::vector<JobPtr> batch;
        int64_t sequences = 0, tokens = 0;
        while (!queue_.empty()) {
          const auto& next = queue_.front();
          const bool fits = sequences + next->sequences <= options_.max_batch_size &&
                            (options_.max_batch_tokens <= 0 || tokens + next->tokens <= options_.max_batch_tokens);
          if (!batch.empty() && !fits) break;
          sequences += next->sequences;
          tokens += next->tokens;
          batch.push_back(std::move(queue_.front()));
          queue_.pop_front();
        }
        stats_.queued_sequences -= sequences;
        stats_.queued_jobs -= batch.size();
        ++stats_.batches;
        stats_.batched_sequences += sequences;
        stats_.max_batch_sequences_seen = std::max<uint64_t>(stats_.max_batch_sequences_seen, sequences);
        --free_executors_;
        ready_batches_.push_back(std::move(batch));
        executor_cv_.notify_one();
        continue;
      }
      wake = std::min(wake, due);
    }
    if (wake == Clock::time_point::max())
      scheduler_cv_.wait(lock);
    else
      scheduler_cv_.wait_until(lock, wake);
  }
  scheduler_done_ = true;
  executor_cv_.notify_all();
}

void DynamicBatcher::Execute() {
  std::unique_lock<std::mutex> lock(mu_);
  while (true) {
    executor_cv_.wait(lock, [this] { return !ready_batches_.empty() || scheduler_done_; });
    if (ready_batches_.empty()) return;
    std::vector<JobPtr> batch = std::move(ready_batches_.front());
    ready_batches_.pop_front();
    const size_t jobs = batch.size();
    lock.unlock();
    try {
      callbacks_.run_batch(batch);
    } catch (const std::exception& e) {
      // The jobs' owners learn of it when their jobs are released unanswered.
      std::fprintf(stderr, "dynamic batcher: a batch of %zu jobs failed: %s\n", jobs, e.what());
    }
    batch.clear();  // release the jobs outside the lock
    lock.lock();
    stats_.jobs_run += jobs;
    ++free_executors_;
    scheduler_cv_.notify_one();
  }
}

}  // namespace prlm::util
