#include "reward_server/reward_rank.h"

#include <spdlog/spdlog.h>

#include "common/comm/service_rank.h"
#include "reward_server/reward_service.h"
#include "reward_server/scorer_setup.h"

namespace prlm::reward {

int RunRewardRank(const TrainConfig& c, const Layout& layout, const comm::RankInfo& me) {
  ScorerSetup s;
  s.w_acc = c.reward.w_acc;
  s.w_fmt = c.reward.w_fmt;
  s.w_pers = c.grpo.objective == "sft" ? 0.0 : c.reward.w_pers;  // sft scores nothing
  s.model = c.reward.model;
  s.max_length = c.reward.max_length;
  s.options.batching.max_batch_size = c.reward.max_batch_size;
  s.options.batching.max_queue_delay = std::chrono::microseconds(c.reward.max_queue_delay_us);
  s.options.default_timeout_ms = static_cast<uint32_t>(c.reward.timeout_ms);
  auto scorer = MakeRewardScorer(s, "reward.");
  net::ServerOptions o;
  o.host = "0.0.0.0";
  o.port = 0;
  net::RpcServer server(o);
  RegisterRewardHandlers(server, *scorer);
  const comm::TrainJob job = comm::JoinTrainJob(c, layout, me, server.port());
  spdlog::info("reward server {}: w_acc {} w_fmt {} w_pers {}, listening on port {}", me.index, s.w_acc, s.w_fmt,
               s.w_pers, server.port());
  comm::ServeUntilStopped(job, server);
  scorer->Stop();
  return 0;
}

}  // namespace prlm::reward
