#include "common/comm/rank_start.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <thread>
#include <vector>

#include "common/net/handshake.h"
#include "common/net/tls.h"
#include "common/util/check.h"
#include "common/util/logging.h"

namespace prlm::comm {

namespace {

// The ranks that share this host (MPI's shared-memory split): how many
// rollout workers, learners and reward servers, and this rank's slot among
// the model ranks (rollout workers and learners: which GPU it takes).
struct LocalRanks {
  int rollouts = 0, learners = 0, rewards = 0, model_slot = 0;
};

LocalRanks CountLocalRanks(Role role) {
  MPI_Comm local = HostCommunicator();
  int mine[4] = {role == Role::kRollout ? 1 : 0, role == Role::kLearner ? 1 : 0, role == Role::kReward ? 1 : 0, 0};
  int sum[4] = {0, 0, 0, 0};
  mine[3] = mine[0] + mine[1];
  int before = 0;  // model ranks with a lower local rank
  MPI_Request requests[2];
  PRLM_MPI_CHECK(MPI_Iallreduce(mine, sum, 4, MPI_INT, MPI_SUM, local, &requests[0]));
  PRLM_MPI_CHECK(MPI_Iexscan(&mine[3], &before, 1, MPI_INT, MPI_SUM, local, &requests[1]));
  for (auto& r : requests)
    if (!WaitFor(&r, std::chrono::minutes(5))) AbortJob("start-up", "counting this host's ranks timed out");
  int local_rank = 0;
  MPI_Comm_rank(local, &local_rank);
  MPI_Comm_free(&local);
  return {sum[0], sum[1], sum[2], local_rank == 0 ? 0 : before};  // Exscan leaves rank 0's result undefined
}

// Rank 0's keys: {secret, certificate, private key, trusted certificates}
// (the last three empty without net.tls). Throws naming the file at fault.
std::vector<std::string> RootKeys(const config::TrainConfig& config, const std::string& host) {
  const config::NetConfig& n = config.net;
  std::vector<std::string> keys(4);
  try {
    keys[0] = n.secret_file.empty() ? net::NewSecret() : net::ReadSecretFile(n.secret_file);
  } catch (const std::exception& e) {
    PRLM_THROW("net.secret_file: " << e.what());
  }
  if (!n.tls) return keys;
  const net::TlsIdentity identity =
      n.tls_cert.empty() ? net::MakeSelfSignedIdentity(host) : net::ReadTlsIdentity(n.tls_cert, n.tls_key);
  keys[1] = identity.certificate_pem;
  keys[2] = identity.private_key_pem;
  keys[3] = n.tls_ca.empty() ? identity.certificate_pem : net::ReadTlsTrust(n.tls_ca).trusted_pem;
  return keys;
}

// Rank 0's strings to every rank: their lengths, then their bytes.
void BroadcastStrings(std::vector<std::string>* strings) {
  std::vector<uint64_t> lengths;
  for (const auto& s : *strings) lengths.push_back(s.size());
  PRLM_MPI_CHECK(MPI_Bcast(lengths.data(), static_cast<int>(lengths.size()), MPI_UINT64_T, 0, MPI_COMM_WORLD));
  for (size_t i = 0; i < strings->size(); ++i) {
    (*strings)[i].resize(lengths[i]);
    if (lengths[i])
      PRLM_MPI_CHECK(MPI_Bcast((*strings)[i].data(), static_cast<int>(lengths[i]), MPI_BYTE, 0, MPI_COMM_WORLD));
  }
}

}  // namespace

RankStart StartRank(const MpiJob& mpi, const config::TrainConfig& config, const config::Layout& layout,
                    bool one_step_off) {
  RankStart s;
  // 1. The role.
  s.me = RoleOf(mpi.rank(), layout);
  s.me.host = mpi.host();
  s.role_name =
      std::string(RoleName(s.me.role)) + (s.me.role == Role::kCoordinator ? "" : " " + std::to_string(s.me.index));
  // 2. Logs.
  util::InitRankLogging(config.trainer.output_dir + "/logs", mpi.rank(), s.role_name, config.logging.level,
                        mpi.rank() == 0);
  // 3. GPU by local slot; CPU threads by phase. On-policy the phases take
  //    turns (generation, then reward scoring while the rollout workers
  //    wait, then the update), so each phase's ranks split the cores; one
  //    step ahead, rollout workers and learners run at once, and a reward
  //    server scores in its rollout worker's turn.
  const bool runs_models = s.me.role == Role::kRollout || s.me.role == Role::kLearner;
  const LocalRanks host = CountLocalRanks(s.me.role);
  if (runs_models) model::SetLocalGpuSlot(host.model_slot);
  s.where = model::ResolveDevice(config.model.device, config.model.dtype);
  const bool computes = runs_models || s.me.role == Role::kReward;
  const int sharing = std::max(1, one_step_off                 ? host.rollouts + host.learners
                                  : s.me.role == Role::kReward ? host.rewards
                                                               : std::max(host.rollouts, host.learners));
  const int cores = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  s.cpu_threads = config.model.cpu_threads > 0 ? static_cast<int>(config.model.cpu_threads)
                  : computes                   ? std::max(1, cores / sharing)
                                               : 1;
  model::ConfigureCpuThreads(s.cpu_threads, s.where.dtype);
  // 4. Who this is.
  const std::string hello =
      fmt::format("rank {} of {}: {} on {} (pid {}, {} CPU threads, {})", mpi.rank(), mpi.size(), s.role_name,
                  mpi.host(), static_cast<long>(getpid()), s.cpu_threads, s.where.device.str());
  spdlog::info("{}", hello);
  if (mpi.rank() != 0) std::fprintf(stderr, "%s\n", hello.c_str());
  // 5. The job's keys: rank 0 draws the secret (or reads net.secret_file)
  //    and, with net.tls, makes or reads the TLS pair; then broadcasts them.
  //    An empty secret says rank 0 failed: every rank stops, rank 0 with why.
  std::vector<std::string> keys(4);
  std::string error;
  if (mpi.rank() == 0) {
    try {
      keys = RootKeys(config, mpi.host());
    } catch (const std::exception& e) {
      error = e.what();
      keys.assign(4, "");
    }
  }
  BroadcastStrings(&keys);
  if (keys[0].empty()) PRLM_THROW((mpi.rank() == 0 ? error : std::string("rank 0 could not read the job's keys")));
  if (mpi.rank() == 0 && !config.net.tls)
    spdlog::warn(
        "net.tls=false: the services speak plaintext; anyone who can capture traffic between the hosts reads "
        "users' profiles, questions and answers (the secret still keeps other processes out; docs/security.md)");
  s.secret = keys[0];
  s.tls = net::TlsIdentity{keys[1], keys[2]};
  s.tls_trust = net::TlsTrust{keys[3]};
  return s;
}

}  // namespace prlm::comm
