// A rollout worker rank's life in a training job:
//   1. wait for Start; load the policy and tokenizer; connect to the
//      retrieval shards (checked to be in shard order) and to its reward
//      server (rollout worker i uses reward server i mod R);
//   2. receive the starting weights from learner 0;
//   3. serve the coordinator: RolloutWork -> RolloutResult; SyncWeights ->
//      receive the new weights (and their version); Stop -> return.
// Work that arrives before a SyncWeights is generated with the weights held
// then, so one step's groups always share one version.
#pragma once

#include "common/comm/train_job.h"

namespace prlm::rollout_workers {

int RunRolloutRank(const comm::TrainJob& job);

}  // namespace prlm::rollout_workers
