#include "reward_server/reward_service.h"

#include "common/reward/protocol.h"
#include "reward_server/lore_reward.h"

namespace prlm::reward_server {

void RegisterRewardHandlers(net::RpcServer& server, RewardScorer& scorer) {
  server.HandleAsync(net::kScoreRequest, [&scorer](std::string payload, net::Responder respond) {
    proto::ScoreRequest request;
    if (!request.ParseFromString(payload)) throw net::BadPayload("not a ScoreRequest");
    scorer.Score(std::move(request), [respond](proto::ScoreReply reply) {
      respond(net::Reply{net::kScoreReply, reply.SerializeAsString()});
    });
  });
  server.Handle(net::kRewardInfoRequest, [&scorer](const std::string& payload) {
    proto::RewardInfoRequest request;
    if (!request.ParseFromString(payload)) throw net::BadPayload("not a RewardInfoRequest");
    return net::Reply{net::kRewardInfo, scorer.Info().SerializeAsString()};
  });
  // LoRe's online adaptation, when the scorer has the component.
  LoreReward* lore = nullptr;
  for (const auto& c : scorer.components())
    if (auto* l = dynamic_cast<LoreReward*>(c.component.get())) lore = l;
  const auto unsupported = [] {
    proto::UserWeightsReply reply;
    reply.set_status(proto::UserWeightsReply::UNSUPPORTED);
    reply.set_error("this reward server has no LoRe component (reward.personalization=lore)");
    return net::Reply{net::kUserWeightsReply, reply.SerializeAsString()};
  };
  server.Handle(net::kAdaptUserRequest, [lore, unsupported](const std::string& payload) {
    proto::AdaptUserRequest request;
    if (!request.ParseFromString(payload)) throw net::BadPayload("not an AdaptUserRequest");
    if (!lore) return unsupported();
    proto::UserWeightsReply reply;
    try {
      if (request.user_id().size() > reward::kMaxUserIdBytes)
        throw InvalidRewardInput("adapt: the user id has " + std::to_string(request.user_id().size()) +
                                 " bytes; at most " + std::to_string(reward::kMaxUserIdBytes));
      std::vector<LorePair> pairs;
      for (const auto& p : request.pairs()) {
        if (p.prompt().size() > reward::kMaxTextBytes || p.chosen().size() > reward::kMaxTextBytes ||
            p.rejected().size() > reward::kMaxTextBytes)
          throw InvalidRewardInput("adapt: pair " + std::to_string(pairs.size()) + " has a text over " +
                                   std::to_string(reward::kMaxTextBytes) + " bytes");
        pairs.push_back({p.prompt(), p.chosen(), p.rejected()});
      }
      const LoreUserWeights w = lore->Adapt(request.user_id(), pairs);
      reply.set_known(w.known);
      reply.set_version(w.version);
      reply.set_error(w.persist_error);
      for (double x : w.weights) reply.add_weights(x);
    } catch (const InvalidRewardInput& e) {
      reply.set_status(proto::UserWeightsReply::INVALID_REQUEST);
      reply.set_error(e.what());
    }
    return net::Reply{net::kUserWeightsReply, reply.SerializeAsString()};
  });
  server.Handle(net::kUserWeightsRequest, [lore, unsupported](const std::string& payload) {
    proto::UserWeightsRequest request;
    if (!request.ParseFromString(payload)) throw net::BadPayload("not a UserWeightsRequest");
    if (!lore) return unsupported();
    const LoreUserWeights w = lore->UserWeights(request.user_id());
    proto::UserWeightsReply reply;
    reply.set_known(w.known);
    reply.set_version(w.version);
    for (double x : w.weights) reply.add_weights(x);
    return net::Reply{net::kUserWeightsReply, reply.SerializeAsString()};
  });
  server.AddCounters([&scorer, lore] {
    std::map<std::string, uint64_t> out;
    for (const auto& [k, v] : scorer.Counters()) out["reward_" + k] = v;
    if (lore)
      for (const auto& [k, v] : lore->Counters()) out["reward_" + k] = v;
    return out;
  });
}

}  // namespace prlm::reward_server
