// What retrieval and reward ranks share in a training job: serve an
// RpcServer (already listening) on a thread while the MPI thread waits for
// the coordinator's Stop, then drain and return.
#pragma once

#include "common/comm/train_job.h"
#include "common/net/rpc_server.h"

namespace prlm::comm {

// Returns when the coordinator sends Stop (the server is drained by then).
void ServeUntilStopped(const TrainJob& job, net::RpcServer& server);

}  // namespace prlm::comm
