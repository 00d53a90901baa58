#include "rollout_workers/rollout_rank.h"

#include "common/comm/job_messages.h"
#include "common/comm/mpi_job.h"
#include "common/comm/preemption.h"
#include "common/comm/service_rank.h"
#include "common/comm/tensor_collectives.h"
#include "common/model/compute_setup.h"
#include "common/model/pretrained.h"
#include "common/retrieval/retrieval_client.h"
#include "common/reward/reward_client.h"
#include "common/util/check.h"
#include "common/util/logging.h"
#include "rollout_workers/rollout_worker.h"

namespace prlm::rollout_workers {

namespace {

net::Endpoint EndpointOf(const comm::RankInfo& r) { return net::ParseEndpoint(r.Address()); }

}  // namespace

int RunRolloutRank(const comm::TrainJob& job) {
  const config::TrainConfig& c = job.config;
  proto::JobMessage m = comm::AwaitCoordinator(job, comm::kForever);
  if (m.has_stop()) return 0;
  PRLM_CHECK_MSG(m.has_start(), "rollout expected 'start', got '" << comm::BodyName(m) << "'");

  // 1. Policy, retrieval tier, reward server.
  const model::ComputeDevice where = model::ResolveDevice(c.model.device, c.model.dtype);
  auto policy = model::LoadCausalLM(c.model.policy, where.device, where.dtype);
  auto tokenizer = text::Tokenizer::FromFile(c.model.policy + "/tokenizer.json");
  std::vector<net::Endpoint> shards;
  for (const auto& r : comm::OfRole(job.directory, comm::Role::kRetrieval)) shards.push_back(EndpointOf(r));
  // Slow or unreachable services are retried with back-off, then the job ends naming them.
  const net::RetryPolicy retrieval_retry{static_cast<int>(c.retrieval.attempts), c.reward.retry_backoff_s};
  const net::RetryPolicy reward_retry{static_cast<int>(c.reward.attempts), c.reward.retry_backoff_s};
  const net::ClientOptions authenticated = comm::ServiceClientOptions(job);
  retrieval::RetrievalClient retrieval(shards, authenticated, std::chrono::milliseconds(c.retrieval.timeout_ms),
                                       retrieval_retry);
  const auto infos = retrieval.VerifyShards();
  // Its own reward server first (workers spread over them), the others to
  // fail over to.
  const auto rewards = comm::OfRole(job.directory, comm::Role::kReward);
  const size_t own = static_cast<size_t>(job.me.index) % rewards.size();
  const auto& reward_rank = rewards[own];
  std::vector<net::Endpoint> reward_servers;
  for (size_t i = 0; i < rewards.size(); ++i) reward_servers.push_back(EndpointOf(rewards[(own + i) % rewards.size()]));
  reward::RewardClient reward(reward_servers, authenticated, reward_retry);
  const ScoreFn score = [&](const proto::ScoreRequest& request) {
    return reward.Score({request.items().begin(), request.items().end()}, request.timeout_ms());
  };
  const std::string task = c.data.task.empty() ? infos.at(0).task() : c.data.task;
  RolloutWorker worker(policy, tokenizer, &retrieval, score, c, task);
  spdlog::info("rollout {}: task {}, {} retrieval shards, reward server {}", job.me.index, task, shards.size(),
               job.Describe(reward_rank.rank));

  // 2. The starting weights.
  comm::TensorCollectives sync(job.weight_sync, "weight sync");
  const auto weights = worker.TrainableParameters();
  int64_t version = 0;
  comm::BroadcastWeights(sync, &version, weights, job.CollectiveTimeout());
  worker.set_weight_version(version);

  // 3. Serve the coordinator.
  while (true) {
    m = comm::AwaitCoordinator(job, comm::kForever);
    if (m.has_stop()) return 0;
    if (m.has_sync()) {
      comm::BroadcastWeights(sync, &version, weights, job.CollectiveTimeout());
      worker.set_weight_version(version);
      continue;
    }
    PRLM_CHECK_MSG(m.has_work(), "rollout: unexpected '" << comm::BodyName(m) << "' from the coordinator");
    util::SetLogStep(m.work().step() + 1);
    proto::JobMessage out;
    const int64_t retrieval_retries = retrieval.retry_counters().retries,
                  reward_retries = reward.retry_counters().retries;
    *out.mutable_result() = worker.Run(m.work());
    out.mutable_result()->set_retrieval_retries(retrieval.retry_counters().retries - retrieval_retries);
    out.mutable_result()->set_reward_retries(reward.retry_counters().retries - reward_retries);
    spdlog::debug("step {}: {} groups, generation {:.2f} s, reward {:.2f} s", m.work().step(),
                  out.result().groups_size(), out.result().generation_s(), out.result().reward_s());
    if (!comm::SendMessage(out, 0, job.world, job.rank_timeout))
      comm::AbortJob(job.Who(), "sending the rollout result to the coordinator timed out");
  }
}

}  // namespace prlm::rollout_workers
