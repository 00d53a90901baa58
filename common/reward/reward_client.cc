#include "common/reward/reward_client.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "common/reward/protocol.h"
#include "common/util/check.h"

namespace prlm::reward {

RewardClient::RewardClient(const std::vector<net::Endpoint>& endpoints, net::ClientOptions options,
                           net::RetryPolicy retry)
    : retry_(retry) {
  PRLM_REQUIRE(!endpoints.empty(), "a reward client needs at least one server");
  for (const auto& e : endpoints) clients_.push_back(std::make_unique<net::RpcClient>(e, options));
}

void RewardClient::MoveOn(size_t failed, const std::string& why) {
  if (clients_.size() < 2) return;
  const size_t next = (failed + 1) % clients_.size();
  if (!current_.compare_exchange_strong(failed, next)) return;
  ++reroutes_;
  {
    std::lock_guard<std::mutex> lock(failed_mutex_);
    failed_.push_back(clients_[failed]->endpoint().ToString());
  }
  spdlog::warn("reward server {} failed ({}); calls go to reward server {} from now on",
               clients_[failed]->endpoint().ToString(), why, clients_[next]->endpoint().ToString());
}

std::vector<std::string> RewardClient::TakeFailedServers() {
  std::lock_guard<std::mutex> lock(failed_mutex_);
  return std::exchange(failed_, {});
}

proto::ScoreReply RewardClient::Score(const std::vector<proto::ScoreItem>& items, uint32_t timeout_ms) {
  proto::ScoreRequest request;
  for (const auto& item : items) *request.add_items() = item;
  request.set_timeout_ms(timeout_ms);
  const auto transport = timeout_ms ? std::chrono::milliseconds(timeout_ms + 2000) : std::chrono::minutes(10);
  const std::string payload = request.SerializeAsString();
  std::string servers = "reward server " + clients_[0]->endpoint().ToString();
  for (size_t i = 1; i < clients_.size(); ++i)
    servers += (i == 1 ? " (or " : ", ") + clients_[i]->endpoint().ToString();
  if (clients_.size() > 1) servers += ")";
  proto::ScoreReply reply;
  bool refused = false;  // the last attempt got a reply that a retry might fix
  try {
    return net::CallWithRetries(retry_, servers, &counters_, [&] {
      refused = false;
      reply.Clear();
      const size_t at = current_.load();
      const std::string server = "reward server " + clients_[at]->endpoint().ToString();
      net::RpcClient::Response response;
      try {
        response = clients_[at]->Call(kScoreRequest, payload, transport);
      } catch (const net::RpcError& e) {
        if (net::Retryable(e)) MoveOn(at, e.what());
        throw;
      }
      if (response.type != kScoreReply || !reply.ParseFromString(response.payload))
        throw net::RpcError(net::RpcError::kProtocol, server + " sent something other than a ScoreReply");
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
  const auto response = current().Call(kRewardInfoRequest, proto::RewardInfoRequest().SerializeAsString(), timeout);
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
  return ParseUserWeights(current().Call(kAdaptUserRequest, request.SerializeAsString(), timeout), endpoint());
}

proto::UserWeightsReply RewardClient::UserWeights(const std::string& user, std::chrono::milliseconds timeout) {
  proto::UserWeightsRequest request;
  request.set_user_id(user);
  return ParseUserWeights(current().Call(kUserWeightsRequest, request.SerializeAsString(), timeout), endpoint());
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
