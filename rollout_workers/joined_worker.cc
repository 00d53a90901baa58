#include "rollout_workers/joined_worker.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include "common/config/config_schema.h"
#include "common/config/train_config.h"
#include "common/model/compute_setup.h"
#include "common/net/handshake.h"
#include "common/retrieval/sharding.h"
#include "common/util/check.h"
#include "rollout_workers/connected_worker.h"
#include "rollout_workers/gateway_worker.h"

namespace prlm::rollout_workers {

namespace {

// The overrides a worker may set for itself: where and how it computes.
bool IsLocalKey(const std::string& assignment) {
  for (const char* key : {"model.device", "model.cpu_threads", "logging.level"})
    if (assignment.rfind(std::string(key) + "=", 0) == 0) return true;
  return false;
}

}  // namespace

int RunJoinedWorker(const JoinOptions& o) {
  for (const auto& assignment : o.overrides)
    PRLM_REQUIRE(IsLocalKey(assignment), "prlm rollout --join: '"
                                             << assignment
                                             << "' cannot be set by a joining worker (the job's config rules); "
                                                "allowed: model.device, model.cpu_threads, logging.level");
  // 1. The secret.
  const std::string secret = net::ReadSecretFile(o.secret_file);
  // 2. The weight server.
  char hostname[256] = {0};
  gethostname(hostname, sizeof hostname - 1);
  const std::string host = o.bind_host.empty() ? net::AddressOf(hostname) : o.bind_host;
  comm::WeightStore store;
  WeightServer weights(host, secret, o.tls, store);
  // 3. Join: the job's config.
  const net::ClientOptions options = ElasticClientOptions(secret, o.tls);
  GatewayWorker gateway(net::ParseEndpoint(o.gateway), options, weights.address(), &store, std::chrono::minutes(5));
  const proto::JoinReply& joined = gateway.Join(o.name);
  config::TrainConfig c;
  config::ConfigSchema schema = config::TrainConfig::Bind(c);
  schema.LoadYamlText(joined.config_yaml(), "the job's config (from the gateway at " + o.gateway + ")");
  for (const auto& assignment : o.overrides) schema.ApplyOverride(assignment);
  spdlog::set_level(spdlog::level::from_str(c.logging.level));
  // 4. The policy and the services.
  const model::ComputeDevice where = model::ResolveDevice(c.model.device, c.model.dtype);
  model::ConfigureCpuThreads(c.model.cpu_threads > 0 ? static_cast<int>(c.model.cpu_threads) : 0, where.dtype);
  std::vector<net::Endpoint> shards, rewards;
  for (const auto& e : joined.retrieval()) shards.push_back(net::ParseEndpoint(e));
  for (const auto& e : joined.reward()) rewards.push_back(net::ParseEndpoint(e));
  PRLM_REQUIRE(!shards.empty() && !rewards.empty(),
               o.gateway << ": the job named no retrieval shard or reward server (not a rollout job?)");
  // Joined workers spread over a shard's replicas by name.
  ConnectedWorker connected(c, shards, rewards, options, retrieval::Fnv1a64(gateway.name()));
  spdlog::info("rollout worker {}: task {}, policy {}, {} retrieval shards, {} reward servers", gateway.name(),
               connected.task(), c.model.policy, shards.size(), rewards.size());
  // 5. Work.
  gateway.Serve(connected.worker(), [&](const proto::RolloutWork& work) { return connected.RunItem(work); });
  return 0;
}

}  // namespace prlm::rollout_workers
