// The start of one rank of a training job, after MPI is up and the config is
// checked against the world size:
//   1. its role and index from the layout;
//   2. its log file (RUN/logs/rank-R.log, every line tagged with rank and role);
//   3. its share of the host: the host's model ranks (rollout workers and
//      learners) take the visible GPUs in turn by local slot; CPU threads are
//      split among the ranks that compute at the same time (on-policy, the
//      generation, reward-scoring and update phases alternate, so each
//      phase's ranks split the cores; one step ahead, all model ranks do, and
//      a reward server takes its rollout worker's share); the coordinator and
//      retrieval ranks mostly wait and take one thread (model.cpu_threads
//      overrides);
//   4. a "rank R of N: ROLE on HOST" line on the console, so a launch that
//      started N singletons instead of one job of N shows at once;
//   5. the job secret (net/handshake.h): rank 0 draws it from the OS's CSPRNG
//      (or reads net.secret_file) and broadcasts it over MPI; it is never
//      logged, written, or put on a command line or in the environment.
//      With net.tls, rank 0 also makes (or reads) the services' TLS
//      certificate and key, and what clients trust, and broadcasts them
//      the same way.
//      Throws util::Error on every rank when rank 0 cannot read a file.
//
// Thread-safety: StartRank is collective over MPI_COMM_WORLD; call it once.
#pragma once

#include <string>

#include "common/comm/mpi_job.h"
#include "common/comm/role_directory.h"
#include "common/config/train_config.h"
#include "common/model/compute_setup.h"
#include "common/net/tls.h"

namespace prlm::comm {

struct RankStart {
  RankInfo me;                 // role, index, host
  std::string role_name;       // "rollout 1" ("coordinator" for rank 0)
  model::ComputeDevice where;  // device and dtype of this rank's models
  int cpu_threads = 1;
  std::string secret;       // the job secret: every service connection proves it
  net::TlsIdentity tls;     // the services' certificate and key (net.tls; else empty)
  net::TlsTrust tls_trust;  // what the services' clients trust (net.tls; else empty)
};

// `one_step_off`: the run draws the next step's samples while the learners
// update (objective::RunsOneStepOff), so model ranks split the cores.
RankStart StartRank(const MpiJob& mpi, const config::TrainConfig& config, const config::Layout& layout,
                    bool one_step_off);

}  // namespace prlm::comm
