// A retrieval shard rank of a training job: shard I of the job's S retrieval
// ranks, loaded from retrieval.index (which must have S shards) or built in
// memory from data.dir's splits (users routed by the same hash); then it
// serves until the coordinator's Stop.
#pragma once

#include "common/comm/rank_start.h"
#include "common/comm/train_job.h"

namespace prlm::retrieval_shards {

// Joins the job (the address exchange) once the shard is listening.
int RunRetrievalRank(const config::TrainConfig& config, const config::Layout& layout, const comm::RankStart& start);

}  // namespace prlm::retrieval_shards
