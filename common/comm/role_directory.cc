#include "common/comm/role_directory.h"

#include <chrono>
#include <cstring>

#include "common/comm/mpi_job.h"
#include "common/util/check.h"

namespace prlm::comm {
namespace {

// The fixed-size record every rank contributes to the all-gather.
struct Record {
  int32_t rank, role, index;
  uint16_t port;
  char host[202];
};

}  // namespace

const char* RoleName(Role role) {
  switch (role) {
    case Role::kCoordinator:
      return "coordinator";
    case Role::kRetrieval:
      return "retrieval";
    case Role::kReward:
      return "reward";
    case Role::kRollout:
      return "rollout";
    case Role::kLearner:
      return "learner";
  }
  return "unknown";
}

RankInfo RoleOf(int rank, const config::Layout& l) {
  PRLM_CHECK(rank >= 0 && rank < l.total());
  RankInfo r;
  r.rank = rank;
  if (rank == 0) return r;
  int64_t i = rank - 1;
  const std::pair<Role, int64_t> bands[] = {{Role::kRetrieval, l.retrieval},
                                            {Role::kReward, l.reward},
                                            {Role::kRollout, l.rollout},
                                            {Role::kLearner, l.learners}};
  for (const auto& [role, count] : bands) {
    if (i < count) {
      r.role = role;
      r.index = static_cast<int>(i);
      return r;
    }
    i -= count;
  }
  PRLM_CHECK(false);
  return r;
}

std::vector<RankInfo> ExchangeDirectory(const RankInfo& mine, int world_size, std::chrono::milliseconds timeout) {
  PRLM_REQUIRE(mine.host.size() <= 200, "host name '" << mine.host << "' is longer than 200 bytes");
  Record out{};
  out.rank = mine.rank;
  out.role = static_cast<int32_t>(mine.role);
  out.index = mine.index;
  out.port = mine.port;
  std::memcpy(out.host, mine.host.data(), mine.host.size());
  std::vector<Record> all(static_cast<size_t>(world_size));
  MPI_Request request;
  PRLM_MPI_CHECK(
      MPI_Iallgather(&out, sizeof(Record), MPI_BYTE, all.data(), sizeof(Record), MPI_BYTE, MPI_COMM_WORLD, &request));
  if (!WaitFor(&request, timeout))
    AbortJob(RoleName(mine.role), "the address exchange did not finish within " + std::to_string(timeout.count()) +
                                      " ms: some rank never reached it");
  std::vector<RankInfo> directory;
  for (const auto& r : all) {
    RankInfo info;
    info.rank = r.rank;
    info.role = static_cast<Role>(r.role);
    info.index = r.index;
    info.port = r.port;
    info.host = std::string(r.host, strnlen(r.host, sizeof r.host));
    directory.push_back(std::move(info));
  }
  return directory;
}

std::vector<RankInfo> OfRole(const std::vector<RankInfo>& directory, Role role) {
  std::vector<RankInfo> out;
  for (const auto& r : directory)
    if (r.role == role) out.push_back(r);
  return out;
}

}  // namespace prlm::comm
