// What retrieval and reward ranks share in a training job: the options of
// their RpcServer (the job secret and TLS identity; the address of this
// rank's host, not every interface), the options of their clients, and
// serving it on a thread while the MPI thread waits for the coordinator's
// Stop, then drain and return; and the elastic tier's servers (ElasticServer).
#pragma once

#include <memory>

#include "common/comm/rank_start.h"
#include "common/comm/train_job.h"
#include "common/net/rpc_client.h"
#include "common/net/rpc_server.h"

namespace prlm::comm {

// Listens on net.bind_host, else on the address this rank's host name
// resolves to (what the other ranks will connect to); a free port; every
// connection must prove the job secret. Throws util::Error if the host name
// does not resolve (naming it and net.bind_host).
net::ServerOptions ServiceServerOptions(const config::TrainConfig& config, const RankStart& start);

// What a rank that calls the services brings: the job secret, and the
// certificates to trust when net.tls is on.
net::ClientOptions ServiceClientOptions(const TrainJob& job);

// With rollout.elastic, the server of rank 0 (the rollout gateway, on
// rollout.gateway_port) or of learner 0 (its weight server), bound (not yet
// running) so that the address exchange publishes its port; else nullptr.
std::unique_ptr<net::RpcServer> ElasticServer(const config::TrainConfig& config, const RankStart& start);

// Returns when the coordinator sends Stop (the server is drained by then).
void ServeUntilStopped(const TrainJob& job, net::RpcServer& server);

}  // namespace prlm::comm
