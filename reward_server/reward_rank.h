// A reward server rank of a training job: a RewardScorer with the config's
// weights, reward model and batching, served until the coordinator's Stop.
#pragma once

#include "common/comm/rank_start.h"
#include "common/comm/train_job.h"

namespace prlm::reward_server {

// Joins the job (the address exchange) once the server is listening.
int RunRewardRank(const config::TrainConfig& config, const config::Layout& layout, const comm::RankStart& start);

}  // namespace prlm::reward_server
