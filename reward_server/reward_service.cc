#include "reward_server/reward_service.h"

#include "common/reward/protocol.h"

namespace prlm::reward {

void RegisterRewardHandlers(net::RpcServer& server, RewardScorer& scorer) {
  server.HandleAsync(kScoreRequest, [&scorer](std::string payload, net::Responder respond) {
    proto::ScoreRequest request;
    if (!request.ParseFromString(payload)) throw net::BadPayload("not a ScoreRequest");
    scorer.Score(std::move(request), [respond](proto::ScoreReply reply) {
      respond(net::Reply{kScoreReply, reply.SerializeAsString()});
    });
  });
  server.Handle(kRewardInfoRequest, [&scorer](const std::string& payload) {
    proto::RewardInfoRequest request;
    if (!request.ParseFromString(payload)) throw net::BadPayload("not a RewardInfoRequest");
    return net::Reply{kRewardInfo, scorer.Info().SerializeAsString()};
  });
  server.AddCounters([&scorer] {
    std::map<std::string, uint64_t> out;
    for (const auto& [k, v] : scorer.Counters()) out["reward_" + k] = v;
    return out;
  });
}

}  // namespace prlm::reward
