// Which rank plays which role, and where every rank can be reached.
//
// Rank 0 is the coordinator; the layout (common/config) gives the following
// ranks, in order, to retrieval shards, reward servers, rollout workers and
// learners. ExchangeDirectory is the job's one all-gather of (role, index,
// host, port): services listen first (port 0 picks a free one), then every
// rank learns every address, so retrieval and reward clients connect without
// any other discovery.
//
// Thread-safety: RoleOf is pure; ExchangeDirectory is a collective (every
// rank calls it once, from its MPI thread).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/config/train_config.h"

namespace prlm::comm {

enum class Role : int32_t { kCoordinator = 0, kRetrieval = 1, kReward = 2, kRollout = 3, kLearner = 4 };
const char* RoleName(Role role);

struct RankInfo {
  int rank = 0;
  Role role = Role::kCoordinator;
  int index = 0;  // among the ranks of its role (shard number, learner number, ...)
  std::string host;
  uint16_t port = 0;  // 0: the rank serves nothing
  std::string Address() const { return host + ":" + std::to_string(port); }
};

// REQUIRES: 0 <= rank < layout.total().
RankInfo RoleOf(int rank, const config::Layout& layout);

// Every rank's entry, indexed by rank. Hosts longer than 200 bytes are
// refused. Aborts the job if the exchange does not finish within `timeout`.
std::vector<RankInfo> ExchangeDirectory(const RankInfo& mine, int world_size,
                                        std::chrono::milliseconds timeout = std::chrono::minutes(5));

// The entries of one role, in index order.
std::vector<RankInfo> OfRole(const std::vector<RankInfo>& directory, Role role);

}  // namespace prlm::comm
