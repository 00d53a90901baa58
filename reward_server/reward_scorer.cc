#include "reward_server/reward_scorer.h"

#include <atomic>
#include <future>
#include <set>

#include "common/reward/protocol.h"
#include "common/util/check.h"

namespace prlm::reward_server {
namespace {

using Clock = util::DynamicBatcher::Clock;

uint64_t MicrosBetween(Clock::time_point a, Clock::time_point b) {
  return b > a ? static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::microseconds>(b - a).count()) : 0;
}

proto::ScoreReply Refusal(proto::ScoreReply::Status status, const std::string& error) {
  proto::ScoreReply reply;
  reply.set_status(status);
  reply.set_error(error);
  return reply;
}

}  // namespace

struct RewardScorer::Counts {
  std::atomic<uint64_t> requests{0}, items{0}, ok{0}, deadline_exceeded{0}, invalid{0}, over_limit{0}, overloaded{0},
      internal{0}, queue_us{0}, prepare_us{0}, tokenize_us{0}, model_us{0};
};

// One request on its way through the scorer.
struct RewardScorer::Job : util::DynamicBatcher::Job {
  proto::ScoreRequest request;
  Done done;
  uint32_t timeout_ms = 0;
  std::vector<RewardInput> inputs;
  std::vector<double> outputs;  // [item][output slot]
  // prepared[c][i]: component c's batch input for item i (null: nothing to run).
  std::vector<std::vector<std::unique_ptr<PreparedItem>>> prepared;
  uint64_t prepare_us = 0, tokenize_us = 0;
  uint64_t queued_ahead = 0;  // sequences already waiting when this job was queued
  bool answered = false;
  double* slots(size_t item, size_t offset, size_t stride) { return outputs.data() + item * stride + offset; }
};

RewardScorer::RewardScorer(std::vector<WeightedComponent> components, ScorerOptions options)
    : components_(std::move(components)), options_(std::move(options)), counts_(std::make_unique<Counts>()) {
  PRLM_REQUIRE(!components_.empty(), "the reward scorer needs at least one component");
  std::set<std::string> names;
  for (const auto& c : components_) {
    PRLM_CHECK(c.component);
    offsets_.push_back(num_outputs_);
    for (const auto& name : c.component->outputs()) {
      PRLM_REQUIRE(names.insert(name).second, "two reward components both report '" << name << "'");
      ++num_outputs_;
    }
  }
  util::DynamicBatcher::Callbacks callbacks;
  callbacks.run_batch = [this](std::vector<util::DynamicBatcher::JobPtr>& batch) { RunBatch(batch); };
  callbacks.expired = [this](const util::DynamicBatcher::JobPtr& p) {
    auto& job = static_cast<Job&>(*p);
    counts_->deadline_exceeded++;
    Finish(job, Refusal(proto::ScoreReply::DEADLINE_EXCEEDED,
                        "not scored within timeout_ms=" + std::to_string(job.timeout_ms) + " (queued for " +
                            std::to_string(MicrosBetween(job.enqueued, Clock::now()) / 1000) +
                            " ms behind other requests)"));
  };
  batcher_ = std::make_unique<util::DynamicBatcher>(options_.batching, std::move(callbacks));
}

RewardScorer::~RewardScorer() { Stop(); }

void RewardScorer::Stop() { batcher_->Stop(); }

void RewardScorer::Finish(Job& job, proto::ScoreReply reply) {
  PRLM_CHECK(!job.answered);
  job.answered = true;
  reply.set_prepare_us(job.prepare_us);
  reply.set_tokenize_us(job.tokenize_us);
  counts_->prepare_us += job.prepare_us;
  counts_->tokenize_us += job.tokenize_us;
  if (reply.status() == proto::ScoreReply::OK) {
    // Combine: reward = sum of weight * value, every output reported.
    const size_t stride = num_outputs_;
    for (size_t i = 0; i < job.inputs.size(); ++i) {
      auto* scored = reply.add_items();
      double reward = 0;
      for (size_t c = 0; c < components_.size(); ++c) {
        const double* out = job.slots(i, offsets_[c], stride);
        reward += components_[c].weight * out[0];
        const auto& names = components_[c].component->outputs();
        for (size_t k = 0; k < names.size(); ++k) {
          auto* nv = scored->add_components();
          nv->set_name(names[k]);
          nv->set_value(out[k]);
        }
      }
      scored->set_reward(reward);
      scored->set_answer(job.inputs[i].answer.answer);
    }
    counts_->ok++;
  }
  job.done(std::move(reply));
}

void RewardScorer::Score(proto::ScoreRequest request, Done done) {
  const auto arrived = Clock::now();
  counts_->requests++;
  counts_->items += request.items_size();
  auto job = std::make_shared<Job>();
  job->done = std::move(done);
  job->timeout_ms = request.timeout_ms() ? request.timeout_ms() : options_.default_timeout_ms;
  job->request = std::move(request);
  const auto& items = job->request.items();
  if (items.empty() || static_cast<size_t>(items.size()) > reward::kMaxItemsPerRequest) {
    counts_->invalid++;
    Finish(*job, Refusal(proto::ScoreReply::INVALID_REQUEST, "a request holds 1.." +
                                                                 std::to_string(reward::kMaxItemsPerRequest) +
                                                                 " items, this one " + std::to_string(items.size())));
    return;
  }
  for (int i = 0; i < items.size(); ++i) {
    const auto& it = items[i];
    const char* field = it.query().size() > reward::kMaxTextBytes        ? "query"
                        : it.completion().size() > reward::kMaxTextBytes ? "completion"
                        : it.gold().size() > reward::kMaxTextBytes       ? "gold"
                        : it.user_id().size() > reward::kMaxUserIdBytes  ? "user_id"
                                                                         : nullptr;
    if (field) {
      counts_->invalid++;
      counts_->over_limit++;
      Finish(*job, Refusal(proto::ScoreReply::INVALID_REQUEST,
                           "item " + std::to_string(i) + ": its " + field + " is over the limit of " +
                               std::to_string(std::string(field) == "user_id" ? reward::kMaxUserIdBytes
                                                                              : reward::kMaxTextBytes) +
                               " bytes"));
      return;
    }
  }
  // 1. Extract answers; per-item components write their outputs; batched ones tokenize.
  const size_t n = static_cast<size_t>(items.size());
  job->inputs.resize(n);
  job->outputs.assign(n * num_outputs_, 0.0);
  job->prepared.resize(components_.size());
  int64_t sequences = 0, tokens = 0;
  try {
    for (size_t i = 0; i < n; ++i) {
      job->inputs[i].item = &items[static_cast<int>(i)];
      job->inputs[i].index = i;
      job->inputs[i].answer = text::ExtractAnswer(items[static_cast<int>(i)].completion());
    }
    for (size_t c = 0; c < components_.size(); ++c) {
      const auto start = Clock::now();
      auto& prepared = job->prepared[c];
      prepared.resize(n);
      bool batched = false;
      for (size_t i = 0; i < n; ++i) {
        prepared[i] = components_[c].component->Prepare(job->inputs[i], job->slots(i, offsets_[c], num_outputs_));
        if (prepared[i]) {
          batched = true;
          ++sequences;
          tokens += prepared[i]->tokens;
        }
      }
      (batched ? job->tokenize_us : job->prepare_us) += MicrosBetween(start, Clock::now());
    }
  } catch (const InvalidRewardInput& e) {
    counts_->invalid++;
    Finish(*job, Refusal(proto::ScoreReply::INVALID_REQUEST, e.what()));
    return;
  } catch (const std::exception& e) {
    counts_->internal++;
    Finish(*job, Refusal(proto::ScoreReply::INTERNAL, std::string("preparing the request failed: ") + e.what()));
    return;
  }
  // 2. Nothing for a model: answer now.
  if (sequences == 0) {
    Finish(*job, proto::ScoreReply());
    return;
  }
  // 3. Queue the model work.
  job->sequences = sequences;
  job->tokens = tokens;
  job->deadline = arrived + std::chrono::milliseconds(job->timeout_ms);
  job->queued_ahead = batcher_->stats().queued_sequences;
  switch (batcher_->Submit(job)) {
    case util::DynamicBatcher::Submitted::kQueued:
      return;
    case util::DynamicBatcher::Submitted::kQueueFull:
      counts_->overloaded++;
      Finish(*job, Refusal(proto::ScoreReply::OVERLOADED, "the reward server's queue is full (" +
                                                              std::to_string(batcher_->stats().queued_sequences) +
                                                              " sequences waiting)"));
      return;
    case util::DynamicBatcher::Submitted::kStopped:
      counts_->overloaded++;
      Finish(*job, Refusal(proto::ScoreReply::SHUTTING_DOWN, "the reward server is shutting down"));
      return;
  }
}

void RewardScorer::RunBatch(std::vector<util::DynamicBatcher::JobPtr>& batch) {
  const auto start = Clock::now();
  std::vector<Job*> jobs;
  for (auto& p : batch) jobs.push_back(static_cast<Job*>(p.get()));
  int64_t batch_items = 0;
  std::string failure;
  try {
    for (size_t c = 0; c < components_.size(); ++c) {
      std::vector<const PreparedItem*> items;
      std::vector<double*> outs;
      for (Job* job : jobs)
        for (size_t i = 0; i < job->inputs.size(); ++i)
          if (job->prepared[c][i]) {
            items.push_back(job->prepared[c][i].get());
            outs.push_back(job->slots(i, offsets_[c], num_outputs_));
          }
      if (items.empty()) continue;
      batch_items += static_cast<int64_t>(items.size());
      components_[c].component->ScoreBatch(items, outs);
    }
  } catch (const std::exception& e) {
    failure = e.what();
  }
  const auto end = Clock::now();
  const uint64_t model_us = MicrosBetween(start, end);
  counts_->model_us += model_us;
  for (Job* job : jobs) {
    const uint64_t queue_us = MicrosBetween(job->enqueued, start);
    counts_->queue_us += queue_us;
    proto::ScoreReply reply;
    if (!failure.empty()) {
      counts_->internal++;
      reply = Refusal(proto::ScoreReply::INTERNAL, "scoring the batch failed: " + failure);
    }
    reply.set_queue_us(queue_us);
    reply.set_model_us(model_us);
    reply.set_batch_items(static_cast<uint32_t>(batch_items));
    reply.set_queued_sequences(job->queued_ahead);
    Finish(*job, std::move(reply));
  }
}

proto::ScoreReply RewardScorer::ScoreNow(proto::ScoreRequest request) {
  std::promise<proto::ScoreReply> promise;
  auto future = promise.get_future();
  Score(std::move(request), [&promise](proto::ScoreReply reply) { promise.set_value(std::move(reply)); });
  return future.get();
}

proto::RewardInfo RewardScorer::Info() const {
  proto::RewardInfo info;
  for (const auto& c : components_) {
    auto* w = info.add_weights();
    w->set_name(c.component->name());
    w->set_value(c.weight);
    for (const auto& name : c.component->outputs()) info.add_reported(name);
  }
  info.set_reward_model(options_.reward_model);
  info.set_max_batch_size(static_cast<uint32_t>(options_.batching.max_batch_size));
  info.set_max_queue_delay_us(static_cast<uint32_t>(options_.batching.max_queue_delay.count()));
  return info;
}

std::map<std::string, uint64_t> RewardScorer::Counters() const {
  const auto s = batcher_->stats();
  const Counts& c = *counts_;
  return {{"requests", c.requests},
          {"items", c.items},
          {"ok", c.ok},
          {"deadline_exceeded", c.deadline_exceeded},
          {"invalid", c.invalid},
          {"over_limit", c.over_limit},
          {"overloaded", c.overloaded},
          {"internal", c.internal},
          {"batches", s.batches},
          {"batched_items", s.batched_sequences},
          {"max_batch_items", s.max_batch_sequences_seen},
          {"queued_items", s.queued_sequences},
          {"queue_us", c.queue_us},
          {"prepare_us", c.prepare_us},
          {"tokenize_us", c.tokenize_us},
          {"model_us", c.model_us}};
}

}  // namespace prlm::reward_server
