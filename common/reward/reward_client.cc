#include "common/reward/reward_client.h"

#include <algorithm>
#include <utility>

#include "common/reward/protocol.h"
#include "common/util/check.h"

namespace prlm::reward {

RewardClient::RewardClient(const std::vector<net::Endpoint>& endpoints, net::ClientOptions options,
                           net::RetryPolicy retry)
    : servers_("reward server", endpoints, options), retry_(retry) {
  retry_.attempts = std::max(retry_.attempts, static_cast<int>(servers_.size()));  // every server gets a try
}

proto::ScoreReply RewardClient::Score(const std::vector<proto::ScoreItem>& items, uint32_t timeout_ms) {
  proto::ScoreRequest request;
  for (const auto& item : items) *request.add_items() = item;
  request.set_timeout_ms(timeout_ms);
  const auto transport = timeout_ms ? std::chrono::milliseconds(timeout_ms + 2000) : std::chrono::minutes(10);
  const std::string payload = request.SerializeAsString();
  proto::ScoreReply reply;
  bool refused = false;  // the last attempt got a reply that a retry might fix
  try {
    return net::CallWithRetries(retry_, servers_.Describe(), &counters_, [&] {
      refused = false;
      reply.Clear();
      const net::RpcClient::Response response = servers_.Call(kScoreRequest, payload, transport);
      if (response.type != kScoreReply || !reply.ParseFromString(response.payload))
        throw net::RpcError(net::RpcError::kProtocol,
                            "reward server " + endpoint().ToString() + " sent something other than a ScoreReply");
      const auto status = reply.status();
      if (status == proto::ScoreReply::DEADLINE_EXCEEDED || status == proto::ScoreReply::OVERLOADED ||
          status == proto::ScoreReply::SHUTTING_DOWN) {
        refused = true;
        throw net::RpcError(
            status == proto::ScoreReply::DEADLINE_EXCEEDED ? net::RpcError::kDeadline : net::RpcError::kUnavailable,
            std::string(StatusName(status)) + ": " + reply.error());
      }
      return reply;
    });
  } catch (const net::RpcError&) {
    if (refused) return reply;  // the server's own answer says why
    throw;
  }
}

proto::RewardInfo RewardClient::Info(std::chrono::milliseconds timeout) {
  const auto response =
      servers_.current().Call(kRewardInfoRequest, proto::RewardInfoRequest().SerializeAsString(), timeout);
  proto::RewardInfo info;
  if (response.type != kRewardInfo || !info.ParseFromString(response.payload))
    throw net::RpcError(net::RpcError::kProtocol,
                        "reward server " + endpoint().ToString() + " sent something other than a RewardInfo");
  return info;
}

namespace {

proto::UserWeightsReply ParseUserWeights(const net::RpcClient::Response& response, const net::Endpoint& endpoint) {
  proto::UserWeightsReply reply;
  if (response.type != kUserWeightsReply || !reply.ParseFromString(response.payload))
    throw net::RpcError(net::RpcError::kProtocol,
                        "reward server " + endpoint.ToString() + " sent something other than a UserWeightsReply");
  return reply;
}

}  // namespace

proto::UserWeightsReply RewardClient::AdaptUser(const proto::AdaptUserRequest& request,
                                                std::chrono::milliseconds timeout) {
  return ParseUserWeights(servers_.current().Call(kAdaptUserRequest, request.SerializeAsString(), timeout), endpoint());
}

proto::UserWeightsReply RewardClient::UserWeights(const std::string& user, std::chrono::milliseconds timeout) {
  proto::UserWeightsRequest request;
  request.set_user_id(user);
  return ParseUserWeights(servers_.current().Call(kUserWeightsRequest, request.SerializeAsString(), timeout),
                          endpoint());
}

const char* StatusName(proto::ScoreReply::Status status) {
  switch (status) {
    case proto::ScoreReply::OK:
      return "OK";
    case proto::ScoreReply::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case proto::ScoreReply::INVALID_REQUEST:
      return "INVALID_REQUEST";
    case proto::ScoreReply::OVERLOADED:
      return "OVERLOADED";
    case proto::ScoreReply::SHUTTING_DOWN:
      return "SHUTTING_DOWN";
    case proto::ScoreReply::INTERNAL:
      return "INTERNAL";
    default:
      return "UNKNOWN";
  }
}

}  // namespace prlm::reward
