// The reward server's core: scores ScoreRequests with weighted components,
// batching the model work of concurrent requests (util::DynamicBatcher).
//
// Score() runs the request's cheap work on the caller's thread (answer
// extraction, per-item components, tokenization) and queues its model work;
// the reply comes through `done`, on the caller's thread when there is no
// model work, else on the model thread. Every request gets exactly one reply:
// OK with one ScoredItem per item; DEADLINE_EXCEEDED if its timeout passes
// before a batch takes it; INVALID_REQUEST, OVERLOADED, SHUTTING_DOWN or
// INTERNAL with the reason. Rewards do not depend on what else shares the
// batch.
//
// reward = sum over components of weight * outputs()[0].
//
// Thread-safety: Score(), Info(), Counters() from any thread. Stop() drains
// (queued requests are still scored) and is called by the destructor.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/util/dynamic_batcher.h"
#include "proto/reward.pb.h"
#include "reward_server/reward_component.h"

namespace prlm::reward_server {

struct WeightedComponent {
  std::shared_ptr<RewardComponent> component;
  double weight = 1.0;
};

struct ScorerOptions {
  util::DynamicBatcher::Options batching;  // max_batch_size, max_batch_tokens, max_queue_delay, executors
  uint32_t default_timeout_ms = 30000;     // for requests that give none
  std::string reward_model;                // for RewardInfo
};

class RewardScorer {
 public:
  using Done = std::function<void(proto::ScoreReply)>;

  // REQUIRES: at least one component; output names unique.
  RewardScorer(std::vector<WeightedComponent> components, ScorerOptions options);
  ~RewardScorer();

  void Score(proto::ScoreRequest request, Done done);
  // Synchronous convenience (waits for the reply).
  proto::ScoreReply ScoreNow(proto::ScoreRequest request);
  void Stop();

  proto::RewardInfo Info() const;
  const std::vector<WeightedComponent>& components() const { return components_; }
  // requests, items, ok, deadline_exceeded, invalid (over_limit: of those,
  // a field over its size limit), overloaded, internal,
  // batches, batched_items, max_batch_items, queued_items, and the summed
  // queue_us / prepare_us / tokenize_us / model_us.
  std::map<std::string, uint64_t> Counters() const;

 private:
  struct Job;
  void RunBatch(std::vector<util::DynamicBatcher::JobPtr>& batch);
  void Finish(Job& job, proto::ScoreReply reply);

  std::vector<WeightedComponent> components_;
  std::vector<size_t> offsets_;  // first output slot of each component
  size_t num_outputs_ = 0;
  ScorerOptions options_;
  struct Counts;
  std::unique_ptr<Counts> counts_;
  std::unique_ptr<util::DynamicBatcher> batcher_;
};

}  // namespace prlm::reward_server
