#include "common/comm/service_rank.h"

#include <spdlog/spdlog.h>

#include <thread>

#include "common/comm/job_messages.h"
#include "common/comm/mpi_job.h"
#include "common/comm/preemption.h"

namespace prlm::comm {

net::ServerOptions ServiceServerOptions(const config::TrainConfig& config, const RankStart& start) {
  net::ServerOptions o;
  o.host = config.net.bind_host.empty() ? net::AddressOf(start.me.host) : config.net.bind_host;
  o.port = 0;
  o.secret = start.secret;
  o.tls = start.tls;
  return o;
}

net::ClientOptions ServiceClientOptions(const TrainJob& job) {
  net::ClientOptions o;
  o.secret = job.secret;
  o.tls = job.tls_trust.enabled();
  o.tls_trust = job.tls_trust;
  return o;
}

std::unique_ptr<net::RpcServer> ElasticServer(const config::TrainConfig& config, const RankStart& start) {
  const bool gateway = start.me.role == Role::kCoordinator;
  if (!config.rollout.elastic || !(gateway || (start.me.role == Role::kLearner && start.me.index == 0)))
    return nullptr;
  net::ServerOptions o = ServiceServerOptions(config, start);
  if (gateway) o.port = static_cast<uint16_t>(config.rollout.gateway_port);
  return std::make_unique<net::RpcServer>(o);
}

void ServeUntilStopped(const TrainJob& job, net::RpcServer& server) {
  std::thread serving([&] { server.Run(); });
  while (true) {
    const proto::JobMessage m = AwaitCoordinator(job, kForever);
    if (m.has_stop()) break;
    spdlog::warn("ignoring '{}' from the coordinator (a service rank only stops)", BodyName(m));
  }
  server.Stop();
  serving.join();
  spdlog::info("stopped;{}", server.CountersLine());
}

}  // namespace prlm::comm
