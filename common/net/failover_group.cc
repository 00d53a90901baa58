#include "common/net/failover_group.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "common/net/retry.h"
#include "common/util/check.h"

namespace prlm::net {

FailoverGroup::FailoverGroup(std::string what, const std::vector<Endpoint>& endpoints, const ClientOptions& options,
                             size_t first)
    : what_(std::move(what)) {
  PRLM_REQUIRE(!endpoints.empty(), what_ << ": no server given");
  for (const auto& e : endpoints) clients_.push_back(std::make_unique<RpcClient>(e, options));
  current_ = first % clients_.size();
}

RpcClient::Response FailoverGroup::Call(uint16_t type, const std::string& payload, std::chrono::milliseconds timeout) {
  const size_t at = current_.load();
  try {
    return clients_[at]->Call(type, payload, timeout);
  } catch (const RpcError& e) {
    if (Retryable(e)) MoveOn(at, e.what());
    throw;
  }
}

void FailoverGroup::MoveOn(size_t failed, const std::string& why) {
  if (clients_.size() < 2) return;
  const size_t next = (failed + 1) % clients_.size();
  if (!current_.compare_exchange_strong(failed, next)) return;  // another caller moved on
  ++reroutes_;
  {
    std::lock_guard<std::mutex> lock(failed_mutex_);
    failed_.push_back(clients_[failed]->endpoint().ToString());
  }
  spdlog::warn("{} {} failed ({}); calls go to {} {} from now on", what_, clients_[failed]->endpoint().ToString(), why,
               what_, clients_[next]->endpoint().ToString());
}

std::string FailoverGroup::Describe() const {
  std::string s = what_ + " " + current().endpoint().ToString();
  bool first = true;
  for (const auto& c : clients_) {
    if (c.get() == &current()) continue;
    s += (first ? " (or " : ", ") + c->endpoint().ToString();
    first = false;
  }
  return first ? s : s + ")";
}

std::vector<std::string> FailoverGroup::TakeFailed() {
  std::lock_guard<std::mutex> lock(failed_mutex_);
  return std::exchange(failed_, {});
}

}  // namespace prlm::net
