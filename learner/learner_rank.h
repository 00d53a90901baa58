// A learner rank's life in a training job:
//   1. wait for Start; load the policy (the checkpoint's when resuming), the
//      reference model (full fine-tuning with beta > 0), optimizer and RNG;
//   2. learner 0 broadcasts the starting weights to the rollout workers;
//   3. serve the coordinator: LearnStep -> update (gradients all-reduced over
//      the learners) -> learner 0 broadcasts the new weights -> LearnReport;
//      SaveCheckpoint -> write this learner's part -> CheckpointWritten;
//      Stop -> return.
// With rollout.elastic, learner 0 publishes each version on
// `elastic_server` (its weight server: the head of the relay chain,
// comm/weight_relay.h) instead of broadcasting it.
#pragma once

#include <memory>

#include "common/comm/train_job.h"
#include "common/net/rpc_server.h"

namespace prlm::learner {

int RunLearnerRank(const comm::TrainJob& job, std::unique_ptr<net::RpcServer> elastic_server = nullptr);

}  // namespace prlm::learner
