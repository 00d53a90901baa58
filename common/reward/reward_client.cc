#include "common/reward/reward_client.h"

#include "common/reward/protocol.h"
#include "common/util/check.h"

namespace prlm::reward {

RewardClient::RewardClient(net::Endpoint endpoint, net::ClientOptions options)
    : client_(std::move(endpoint), options) {}

proto::ScoreReply RewardClient::Score(const std::vector<proto::ScoreItem>& items, uint32_t timeout_ms) {
  proto::ScoreRequest request;
  for (const auto& item : items) *request.add_items() = item;
  request.set_timeout_ms(timeout_ms);
  const auto transport = timeout_ms ? std::chrono::milliseconds(timeout_ms + 2000) : std::chrono::minutes(10);
  const auto response = client_.Call(kScoreRequest, request.SerializeAsString(), transport);
  proto::ScoreReply reply;
  if (response.type != kScoreReply || !reply.ParseFromString(response.payload))
    throw net::RpcError(net::RpcError::kProtocol,
                        "reward server " + endpoint().ToString() + " sent something other than a ScoreReply");
  return reply;
}

proto::RewardInfo RewardClient::Info(std::chrono::milliseconds timeout) {
  const auto response = client_.Call(kRewardInfoRequest, proto::RewardInfoRequest().SerializeAsString(), timeout);
  proto::RewardInfo info;
  if (response.type != kRewardInfo || !info.ParseFromString(response.payload))
    throw net::RpcError(net::RpcError::kProtocol,
                        "reward server " + endpoint().ToString() + " sent something other than a RewardInfo");
  return info;
}

const char* StatusName(proto::ScoreReply::Status status) {
  switch (status) {
    case proto::ScoreReply::OK: return "OK";
    case proto::ScoreReply::DEADLINE_EXCEEDED: return "DEADLINE_EXCEEDED";
    case proto::ScoreReply::INVALID_REQUEST: return "INVALID_REQUEST";
    case proto::ScoreReply::OVERLOADED: return "OVERLOADED";
    case proto::ScoreReply::SHUTTING_DOWN: return "SHUTTING_DOWN";
    case proto::ScoreReply::INTERNAL: return "INTERNAL";
    default: return "UNKNOWN";
  }
}

}  // namespace prlm::reward
