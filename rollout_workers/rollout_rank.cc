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
#include "rollout_workers/connected_worker.h"
#include "rollout_workers/gateway_worker.h"
#include "rollout_workers/rollout_worker.h"

namespace prlm::rollout_workers {

namespace {

net::Endpoint EndpointOf(const comm::RankInfo& r) { return net::ParseEndpoint(r.Address()); }

// The elastic tier (docs/elastic.md): work from the coordinator's gateway,
// weights by the relay, until the gateway says stop.
int RunElasticRank(const comm::TrainJob& job, ConnectedWorker& connected) {
  const config::TrainConfig& c = job.config;
  comm::WeightStore store;
  const std::string host = c.net.bind_host.empty() ? net::AddressOf(job.me.host) : c.net.bind_host;
  WeightServer weights(host, job.secret, c.net.tls, store);
  GatewayWorker gateway(EndpointOf(job.directory.at(0)), ElasticClientOptions(job.secret, c.net.tls), weights.address(),
                        &store, job.rank_timeout);
  gateway.Join(job.Who());
  gateway.Serve(connected.worker(), [&](const proto::RolloutWork& work) { return connected.RunItem(work); });
  return 0;
}

}  // namespace

int RunRolloutRank(const comm::TrainJob& job) {
  const config::TrainConfig& c = job.config;
  proto::JobMessage m = comm::AwaitCoordinator(job, comm::kForever);
  if (m.has_stop()) return 0;
  PRLM_CHECK_MSG(m.has_start(), "rollout expected 'start', got '" << comm::BodyName(m) << "'");

  // 1. Policy, retrieval tier, reward servers: its own first (workers
  //    spread over them), the others to fail over to.
  std::vector<net::Endpoint> shards, reward_servers;
  for (const auto& r : comm::OfRole(job.directory, comm::Role::kRetrieval)) shards.push_back(EndpointOf(r));
  const auto rewards = comm::OfRole(job.directory, comm::Role::kReward);
  const size_t own = static_cast<size_t>(job.me.index) % rewards.size();
  for (size_t i = 0; i < rewards.size(); ++i) reward_servers.push_back(EndpointOf(rewards[(own + i) % rewards.size()]));
  ConnectedWorker connected(c, shards, reward_servers, comm::ServiceClientOptions(job),
                            static_cast<size_t>(job.me.index));
  RolloutWorker& worker = connected.worker();
  spdlog::info("rollout {}: task {}, {} retrieval shards, reward server {}", job.me.index, connected.task(),
               shards.size(), job.Describe(rewards[own].rank));
  if (c.rollout.elastic) return RunElasticRank(job, connected);

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
    *out.mutable_result() = connected.RunItem(m.work());
    spdlog::debug("step {}: {} groups, generation {:.2f} s, reward {:.2f} s", m.work().step(),
                  out.result().groups_size(), out.result().generation_s(), out.result().reward_s());
    if (!comm::SendMessage(out, 0, job.world, job.rank_timeout))
      comm::AbortJob(job.Who(), "sending the rollout result to the coordinator timed out");
  }
}

}  // namespace prlm::rollout_workers
