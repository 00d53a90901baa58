#include "rollout_workers/connected_worker.h"

#include "common/model/compute_setup.h"
#include "common/model/pretrained.h"

namespace prlm::rollout_workers {

ConnectedWorker::ConnectedWorker(const config::TrainConfig& c, const std::vector<net::Endpoint>& shards,
                                 const std::vector<net::Endpoint>& rewards, const net::ClientOptions& options,
                                 size_t preferred_replica) {
  const model::ComputeDevice where = model::ResolveDevice(c.model.device, c.model.dtype);
  auto policy = model::LoadCausalLM(c.model.policy, where.device, where.dtype);
  auto tokenizer = text::Tokenizer::FromFile(c.model.policy + "/tokenizer.json");
  // Slow or unreachable services are retried with back-off, then the caller names them.
  const net::RetryPolicy retrieval_retry{static_cast<int>(c.retrieval.attempts), c.reward.retry_backoff_s};
  const net::RetryPolicy reward_retry{static_cast<int>(c.reward.attempts), c.reward.retry_backoff_s};
  retrieval_ =
      std::make_unique<retrieval::RetrievalClient>(shards, options, std::chrono::milliseconds(c.retrieval.timeout_ms),
                                                   retrieval_retry, c.retrieval.replicas, preferred_replica);
  const auto infos = retrieval_->VerifyShards();
  reward_ = std::make_unique<reward::RewardClient>(rewards, options, reward_retry);
  const ScoreFn score = [this](const proto::ScoreRequest& request) {
    return reward_->Score({request.items().begin(), request.items().end()}, request.timeout_ms());
  };
  task_ = c.data.task.empty() ? infos.at(0).task() : c.data.task;
  worker_ = std::make_unique<RolloutWorker>(policy, tokenizer, retrieval_.get(), score, c, task_);
}

proto::RolloutResult ConnectedWorker::RunItem(const proto::RolloutWork& work) {
  const int64_t retrieval_retries = retrieval_->retry_counters().retries;
  const int64_t reward_retries = reward_->retry_counters().retries;
  proto::RolloutResult out = worker_->Run(work);
  out.set_retrieval_retries(retrieval_->retry_counters().retries - retrieval_retries);
  out.set_reward_retries(reward_->retry_counters().retries - reward_retries);
  for (auto& server : reward_->TakeFailedServers()) out.add_reward_servers_failed(std::move(server));
  for (auto& server : retrieval_->TakeFailedServers()) out.add_retrieval_servers_failed(std::move(server));
  return out;
}

}  // namespace prlm::rollout_workers
