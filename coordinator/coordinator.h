// The coordinator (rank 0) of a training job: the step loop.
//
// Per step (synchronous on-policy, the default):
//   1. the next prompts in the data order go to the rollout workers, split
//      evenly; each returns its scored groups;
//   2. group-normalised advantages (grpo) over the groups that could be
//      asked; sft uses the (prompt, target) pairs as they are;
//   3. micro-batches balanced by tokens go to the learners, which update and
//      all-reduce; learner 0 then broadcasts the new weights to the rollout
//      workers (told to join by a SyncWeights message);
//   4. one metrics.jsonl line (verl's key names), one console line, and a
//      checkpoint every trainer.save_every steps and at the end.
// With grpo.max_staleness = 1 the next step's rollout is sent before this
// step's update, so generation overlaps learning; samples then trail the
// weights by one version (recorded as rollout/staleness). The pipeline is
// drained before a checkpoint, so resuming stays exact.
//
// With rollout.elastic (docs/elastic.md) steps 1 and 3's weights go
// through `elastic_server` (bound by the caller before the address
// exchange): the gateway hands out work items under leases to rollout
// workers that may die or join, and learner 0 publishes weights for the
// relay instead of broadcasting them.
//
// Any failure (a rank that does not answer within trainer.rank_timeout_s, a
// rollout worker's error) aborts the job with the reason.
#pragma once

#include <memory>

#include "common/comm/train_job.h"
#include "common/net/rpc_server.h"

namespace prlm::coordinator {

// Returns the process exit code. REQUIRES: elastic_server with rollout.elastic.
int RunCoordinator(const comm::TrainJob& job, std::unique_ptr<net::RpcServer> elastic_server = nullptr);

}  // namespace prlm::coordinator
