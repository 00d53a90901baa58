#include "common/comm/rank_start.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>

#include "common/net/handshake.h"
#include "common/util/check.h"
#include "common/util/logging.h"

namespace prlm::comm {

namespace {

// The ranks that share this host (MPI's shared-memory split): how many
// rollout workers and learners, and this rank's slot among those model ranks
// (which GPU it takes).
struct LocalRanks {
  int rollouts = 0, learners = 0, model_slot = 0;
};

LocalRanks CountLocalRanks(Role role) {
  MPI_Comm local;
  PRLM_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local));
  int mine[3] = {role == Role::kRollout ? 1 : 0, role == Role::kLearner ? 1 : 0, 0}, sum[3] = {0, 0, 0};
  mine[2] = mine[0] + mine[1];
  int before = 0;  // model ranks with a lower local rank
  MPI_Request requests[2];
  PRLM_MPI_CHECK(MPI_Iallreduce(mine, sum, 3, MPI_INT, MPI_SUM, local, &requests[0]));
  PRLM_MPI_CHECK(MPI_Iexscan(&mine[2], &before, 1, MPI_INT, MPI_SUM, local, &requests[1]));
  for (auto& r : requests)
    if (!WaitFor(&r, std::chrono::minutes(5))) AbortJob("start-up", "counting this host's ranks timed out");
  int local_rank = 0;
  MPI_Comm_rank(local, &local_rank);
  MPI_Comm_free(&local);
  return {sum[0], sum[1], local_rank == 0 ? 0 : before};  // Exscan leaves rank 0's result undefined
}

}  // namespace

RankStart StartRank(const MpiJob& mpi, const TrainConfig& config, const Layout& layout) {
  RankStart s;
  // 1. The role.
  s.me = RoleOf(mpi.rank(), layout);
  s.me.host = mpi.host();
  s.role_name = std::string(RoleName(s.me.role)) + (s.me.role == Role::kCoordinator ? "" : " " + std::to_string(s.me.index));
  // 2. Logs.
  InitRankLogging(config.trainer.output_dir + "/logs", mpi.rank(), s.role_name, config.logging.level, mpi.rank() == 0);
  // 3. GPU by local slot; CPU threads by phase.
  const bool runs_models = s.me.role == Role::kRollout || s.me.role == Role::kLearner;
  const LocalRanks host = CountLocalRanks(s.me.role);
  if (runs_models) SetLocalGpuSlot(host.model_slot);
  s.where = ResolveDevice(config.model.device, config.model.dtype);
  const int model_ranks = std::max(1, config.grpo.max_staleness > 0 ? host.rollouts + host.learners
                                                                     : std::max(host.rollouts, host.learners));
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  s.cpu_threads = config.model.cpu_threads > 0 ? static_cast<int>(config.model.cpu_threads)
                  : runs_models                ? std::max(1, cores / model_ranks)
                                               : 1;
  ConfigureCpuThreads(s.cpu_threads, s.where.dtype);
  // 4. Who this is.
  const std::string hello = fmt::format("rank {} of {}: {} on {} (pid {}, {} CPU threads, {})", mpi.rank(),
                                        mpi.size(), s.role_name, mpi.host(), static_cast<long>(getpid()),
                                        s.cpu_threads, s.where.device.str());
  spdlog::info("{}", hello);
  if (mpi.rank() != 0) std::fprintf(stderr, "%s\n", hello.c_str());
  // 5. The job secret: rank 0 draws it (or reads net.secret_file) and
  //    broadcasts its length, then its bytes. A length of 0 says rank 0
  //    could not read the file: every rank stops, rank 0 with the reason.
  std::string error;
  if (mpi.rank() == 0) {
    try {
      s.secret = config.net.secret_file.empty() ? net::NewSecret() : net::ReadSecretFile(config.net.secret_file);
    } catch (const std::exception& e) {
      error = e.what();
    }
  }
  uint64_t length = s.secret.size();
  PRLM_MPI_CHECK(MPI_Bcast(&length, 1, MPI_UINT64_T, 0, MPI_COMM_WORLD));
  if (length == 0)
    PRLM_THROW((mpi.rank() == 0 ? "net.secret_file: " + error : std::string("rank 0 could not read net.secret_file")));
  s.secret.resize(length);
  PRLM_MPI_CHECK(MPI_Bcast(s.secret.data(), static_cast<int>(length), MPI_BYTE, 0, MPI_COMM_WORLD));
  return s;
}

}  // namespace prlm::comm
