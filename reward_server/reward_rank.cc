#include "reward_server/reward_rank.h"

#include <spdlog/spdlog.h>

#include "common/comm/service_rank.h"
#include "common/objective/objective.h"
#include "reward_server/reward_service.h"
#include "reward_server/scorer_setup.h"

namespace prlm::reward_server {

int RunRewardRank(const config::TrainConfig& c, const config::Layout& layout, const comm::RankStart& start) {
  const comm::RankInfo& me = start.me;
  config::RewardConfig rc = c.reward;
  // An objective whose rollout is not scored (sft) needs no reward model.
  if (objective::MakeObjective(c)->rollout_product() != objective::RolloutProduct::kScoredSamples) rc.w_pers = 0;
  auto scorer = MakeRewardScorer(rc, c.simulate);
  net::RpcServer server(comm::ServiceServerOptions(c, start));
  RegisterRewardHandlers(server, *scorer);
  const comm::TrainJob job = comm::JoinTrainJob(c, layout, start, server.port());
  spdlog::info("reward server {}: w_acc {} w_fmt {} w_pers {}, listening on port {}{}", me.index, rc.w_acc, rc.w_fmt,
               rc.w_pers, server.port(), start.tls.enabled() ? " (TLS)" : "");
  comm::ServeUntilStopped(job, server);
  scorer->Stop();
  return 0;
}

}  // namespace prlm::reward_server
