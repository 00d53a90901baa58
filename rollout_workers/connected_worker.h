// A rollout worker connected to its services: the policy, the retrieval
// tier's client and the reward tier's (its own server first, the others to
// fail over to), and a RolloutWorker over them. Shared by the MPI rank
// (rollout_rank.h) and a worker that joins a running job (joined_worker.h).
//
// Thread-safety: RunItem from one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/config/train_config.h"
#include "common/net/rpc_client.h"
#include "common/retrieval/retrieval_client.h"
#include "common/reward/reward_client.h"
#include "rollout_workers/rollout_worker.h"

namespace prlm::rollout_workers {

class ConnectedWorker {
 public:
  // Loads model.policy and checks every shard answers (util::Error naming
  // the one that does not). `shards` lists every retrieval rank (each
  // shard's retrieval.replicas, RetrievalClient's order); calls start at
  // replica `preferred_replica` mod the count. REQUIRES: shards and rewards
  // non-empty.
  ConnectedWorker(const config::TrainConfig& c, const std::vector<net::Endpoint>& shards,
                  const std::vector<net::Endpoint>& rewards, const net::ClientOptions& options,
                  size_t preferred_replica = 0);

  // The worker's Run, with the step's service retries in the result.
  proto::RolloutResult RunItem(const proto::RolloutWork& work);

  RolloutWorker& worker() { return *worker_; }
  const std::string& task() const { return task_; }

 private:
  std::unique_ptr<retrieval::RetrievalClient> retrieval_;
  std::unique_ptr<reward::RewardClient> reward_;
  std::unique_ptr<RolloutWorker> worker_;
  std::string task_;
};

}  // namespace prlm::rollout_workers
