// A reward component: one named part of the reward (accuracy, format,
// personalization, ...), pluggable into the RewardScorer without touching
// its batching.
//
// Every component declares its outputs: the first is the component's value
// (the one its weight multiplies), any others are logged beside it (ROUGE-1/2/L
// under accuracy, the raw reward-model score under personalization).
//
// Two phases per item:
//  - Prepare() runs on the request's thread as the request arrives, in
//    parallel with other requests. A per-item component (a string metric)
//    writes its outputs there and returns nullptr. A batched component (a
//    model) returns what its batch step needs (token ids) and leaves the
//    outputs for later -- or returns nullptr to skip an item it can score
//    without the model (outputs written).
//  - ScoreBatch() runs on the scorer's model thread over every prepared item
//    of a batch, which may span many requests and clients.
//
// Errors: Prepare throws InvalidRewardInput for an item it cannot score (the
// whole request is refused with that message). Thread-safety: Prepare is
// called from many threads at once; ScoreBatch from one thread at a time.
#pragma once

#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/text/answer.h"
#include "proto/reward.pb.h"

namespace prlm::reward_server {

struct RewardInput {
  const proto::ScoreItem* item = nullptr;
  text::ExtractedAnswer answer;  // extracted once, shared by every component
  size_t index = 0;              // in its request, for messages
};

class InvalidRewardInput : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct PreparedItem {
  virtual ~PreparedItem() = default;
  int64_t tokens = 0;  // what the item costs a batch (its token budget)
};

class RewardComponent {
 public:
  virtual ~RewardComponent() = default;
  // outputs()[0] is the component's name and value.
  virtual const std::vector<std::string>& outputs() const = 0;
  const std::string& name() const { return outputs()[0]; }

  // `out` has outputs().size() slots (zeroed).
  virtual std::unique_ptr<PreparedItem> Prepare(const RewardInput& input, double* out) const = 0;
  // items[i] is what Prepare returned; out[i] its output slots.
  virtual void ScoreBatch(const std::vector<const PreparedItem*>& items, const std::vector<double*>& out) {
    (void)items, (void)out;
  }
};

}  // namespace prlm::reward_server
