#include "common/comm/train_job.h"

#include <algorithm>

#include "common/comm/mpi_job.h"

namespace prlm::comm {

std::chrono::milliseconds TrainJob::CollectiveTimeout() const {
  return rank_timeout + std::max(std::chrono::milliseconds(1000), rank_timeout / 10);
}

std::string TrainJob::Describe(int rank) const {
  if (rank < 0 || rank >= static_cast<int>(directory.size())) return "rank " + std::to_string(rank);
  const RankInfo& r = directory[rank];
  std::string s = "rank " + std::to_string(rank) + " (" + RoleName(r.role);
  if (r.role != Role::kCoordinator) s += " " + std::to_string(r.index);
  return s + " on " + r.host + ")";
}

std::string TrainJob::Who() const {
  const std::string d = Describe(me.rank);
  return d.substr(d.find('(') + 1, d.size() - d.find('(') - 2);
}

TrainJob JoinTrainJob(const config::TrainConfig& config, const config::Layout& layout, const RankStart& start,
                      uint16_t port) {
  const RankInfo& me = start.me;
  TrainJob job;
  job.secret = start.secret;
  job.tls_trust = start.tls_trust;
  job.config = config;
  job.layout = layout;
  job.me = me;
  job.me.port = port;
  job.rank_timeout = std::chrono::milliseconds(static_cast<int64_t>(config.trainer.rank_timeout_s * 1000));
  int world_size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &world_size);
  job.directory = ExchangeDirectory(job.me, world_size);
  const bool learner = me.role == Role::kLearner;
  const bool in_sync = (learner && me.index == 0) || me.role == Role::kRollout;
  PRLM_MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, learner ? 0 : MPI_UNDEFINED, me.rank, &job.learners));
  // Learner 0 first, so it is rank 0 (the root) of weight_sync.
  PRLM_MPI_CHECK(MPI_Comm_split(MPI_COMM_WORLD, in_sync ? 0 : MPI_UNDEFINED, learner ? -1 : me.rank, &job.weight_sync));
  return job;
}

}  // namespace prlm::comm
