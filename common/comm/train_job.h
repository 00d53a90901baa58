// Everything a rank of a `prlm train` job knows about the job: the config,
// its own place in the layout, every rank's address, and the communicators
// of the two tensor collectives.
//
//   learners     the learner ranks (gradient all-reduce); MPI_COMM_NULL elsewhere
//   weight_sync  learner 0 (rank 0 of this communicator, the broadcast root)
//                and the rollout workers; MPI_COMM_NULL elsewhere
//
// Thread-safety: JoinTrainJob is collective over MPI_COMM_WORLD; the result
// is a plain value afterwards.
#pragma once

#include <mpi.h>

#include <chrono>
#include <string>
#include <vector>

#include "common/comm/rank_start.h"
#include "common/comm/role_directory.h"
#include "common/config/train_config.h"

namespace prlm::comm {

struct TrainJob {
  config::TrainConfig config;
  config::Layout layout;
  RankInfo me;
  std::vector<RankInfo> directory;  // by rank
  MPI_Comm world = MPI_COMM_WORLD;
  MPI_Comm learners = MPI_COMM_NULL;
  MPI_Comm weight_sync = MPI_COMM_NULL;
  std::chrono::milliseconds rank_timeout{0};  // the longest wait on one peer
  std::string secret;                         // the job secret (rank_start.h): service connections prove it
  net::TlsTrust tls_trust;                    // with net.tls: what service clients trust (else empty)

  // "rank 3 (rollout 1 on host)"
  std::string Describe(int rank) const;
  // "rollout 1 on host": this rank, as AbortJob's `who` (which adds the rank).
  std::string Who() const;
  // How long workers wait on each other in a collective (weight sync,
  // gradient all-reduce): a tenth more than rank_timeout, at least 1 s more.
  // The coordinator watches every rank with rank_timeout and names the stuck
  // one; its message must be the one recorded, not a peer's "a member never
  // joined".
  std::chrono::milliseconds CollectiveTimeout() const;
};

// The all-gather of addresses (`port` is this rank's service port, 0 when it
// serves nothing) and the communicator splits.
TrainJob JoinTrainJob(const config::TrainConfig& config, const config::Layout& layout, const RankStart& start,
                      uint16_t port);

}  // namespace prlm::comm
