#include "rollout_workers/gateway_worker.h"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/net/message_types.h"
#include "common/util/check.h"
#include "common/util/logging.h"

namespace prlm::rollout_workers {

namespace {

using Clock = std::chrono::steady_clock;

template <typename Message>
Message ParseReply(const net::RpcClient::Response& r, uint16_t type, const net::Endpoint& from, const char* what) {
  Message m;
  PRLM_REQUIRE(r.type == type && m.ParseFromString(r.payload),
               from.ToString() << ": the answer to " << what << " is not a " << Message().GetTypeName()
                               << " (not a prlm gateway?)");
  return m;
}

// Renews the worker's leases every `every` while it lives.
class Heartbeat {
 public:
  Heartbeat(std::function<void()> beat, std::chrono::milliseconds every)
      : thread_([this, beat = std::move(beat), every] {
          std::unique_lock<std::mutex> lock(mu_);
          while (!cv_.wait_for(lock, every, [this] { return done_; })) {
            lock.unlock();
            try {
              beat();
            } catch (const std::exception& e) {
              spdlog::warn("lease renewal failed: {}", e.what());
            }
            lock.lock();
          }
        }) {}
  ~Heartbeat() {
    {
      std::lock_guard<std::mutex> lock(mu_);
      done_ = true;
    }
    cv_.notify_all();
    thread_.join();
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  bool done_ = false;
  std::thread thread_;
};

net::ServerOptions WeightServerOptions(const std::string& host, const std::string& secret, bool tls) {
  net::ServerOptions o;
  o.host = host;
  o.secret = secret;
  o.worker_threads = 4;  // a request may wait for a chunk still on its way
  if (tls) o.tls = net::MakeSelfSignedIdentity(host);
  return o;
}

}  // namespace

net::ClientOptions ElasticClientOptions(const std::string& secret, bool tls) {
  net::ClientOptions o;
  o.secret = secret;
  o.tls = tls;
  return o;
}

WeightServer::WeightServer(const std::string& host, const std::string& secret, bool tls, const comm::WeightStore& store)
    : host_(host), server_(WeightServerOptions(host, secret, tls)) {
  comm::ServeWeights(server_, store, std::chrono::seconds(30));
  thread_ = std::thread([this] { server_.Run(); });
}

WeightServer::~WeightServer() {
  server_.Stop();
  thread_.join();
}

std::string WeightServer::address() const { return host_ + ":" + std::to_string(server_.port()); }

GatewayWorker::GatewayWorker(net::Endpoint gateway, net::ClientOptions options, std::string weights_address,
                             comm::WeightStore* store, std::chrono::milliseconds patience)
    : gateway_(std::move(gateway), options),
      options_(std::move(options)),
      weights_address_(std::move(weights_address)),
      store_(store),
      patience_(patience) {}

net::RpcClient::Response GatewayWorker::CallGateway(uint16_t type, const std::string& payload,
                                                    std::chrono::milliseconds timeout) {
  const auto until = Clock::now() + patience_;
  while (true) {
    try {
      return gateway_.Call(type, payload, timeout);
    } catch (const net::RpcError& e) {
      if (e.kind() == net::RpcError::kProtocol || e.kind() == net::RpcError::kRemote || Clock::now() >= until)
        PRLM_THROW("the gateway at " << gateway_.endpoint().ToString() << ": " << e.what()
                                     << " (the job may have ended, or the network to it is down)");
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }
}

const proto::JoinReply& GatewayWorker::Join(const std::string& name) {
  if (join_name_.empty()) {
    char host[256] = {0};
    gethostname(host, sizeof host - 1);
    join_name_ = name.empty() ? std::string(host) + ":" + std::to_string(getpid()) : name;
  }
  proto::JoinRequest request;
  request.set_name(join_name_);
  request.set_weights_address(weights_address_);
  joined_ = ParseReply<proto::JoinReply>(
      CallGateway(net::kJoinRequest, request.SerializeAsString(), std::chrono::seconds(30)), net::kJoinReply,
      gateway_.endpoint(), "a join");
  spdlog::info("joined the job at {} as {}", gateway_.endpoint().ToString(), joined_.name());
  return joined_;
}

proto::WorkReply GatewayWorker::Ask(int64_t holds, const std::string& failed_source) {
  proto::WorkRequest request;
  request.set_name(joined_.name());
  request.set_weight_version(holds);
  request.set_failed_source(failed_source);
  return ParseReply<proto::WorkReply>(
      CallGateway(net::kWorkRequest, request.SerializeAsString(), std::chrono::seconds(30)), net::kWorkReply,
      gateway_.endpoint(), "an ask for work");
}

std::string GatewayWorker::FetchVersion(const proto::WorkReply& reply, RolloutWorker& worker) {
  const int64_t version = reply.weight_version();
  try {
    net::RpcClient source(net::ParseEndpoint(reply.weight_source()), options_);
    const auto t0 = Clock::now();
    const int64_t base = worker.config().rollout.delta_sync ? worker.weight_version() : -1;
    const uint64_t bytes = comm::FetchWeights(source, version, store_, std::chrono::seconds(30), base);
    bytes_fetched_ += bytes;
    store_->CopyInto(version, worker.TrainableParameters());
    worker.set_weight_version(version);
    spdlog::info("weights v{}: {} bytes from {} in {:.3f} s{}", version, bytes, reply.weight_source(),
                 std::chrono::duration<double>(Clock::now() - t0).count(),
                 base >= 0 ? " (delta sync against v" + std::to_string(base) + ")" : std::string());
    return "";
  } catch (const net::RpcError& e) {
    spdlog::warn("weights v{} from {}: {}; asking the gateway for another source", version, reply.weight_source(),
                 e.what());
    return reply.weight_source();
  }
}

void GatewayWorker::SendResult(uint64_t item, proto::RolloutResult result) {
  proto::ItemResult request;
  request.set_name(joined_.name());
  request.set_item(item);
  *request.mutable_result() = std::move(result);
  const auto reply = ParseReply<proto::ItemResultReply>(
      CallGateway(net::kItemResult, request.SerializeAsString(), std::chrono::minutes(2)), net::kItemResultReply,
      gateway_.endpoint(), "a result");
  if (!reply.kept()) spdlog::info("item {}: another worker's result came first", item);
}

void GatewayWorker::BeginItem() {
  std::lock_guard<std::mutex> lock(fetch_mu_);
  in_item_ = true;
}

void GatewayWorker::StartFetch(int64_t version, const std::string& source, int64_t base) {
  std::lock_guard<std::mutex> lock(fetch_mu_);
  if (!in_item_ || fetch_running_ || version <= fetch_started_) return;
  if (fetch_thread_.joinable()) fetch_thread_.join();  // done: fetch_running_ is false
  fetch_started_ = version;
  fetch_running_ = true;
  fetch_thread_ = std::thread([this, version, source, base] {
    std::string failed;
    try {
      net::RpcClient from(net::ParseEndpoint(source), options_);
      const auto t0 = Clock::now();
      bytes_fetched_ += comm::FetchWeights(from, version, store_, std::chrono::seconds(30), base);
      fetched_ = version;
      spdlog::info("weights v{} fetched from {} during an item in {:.2f} s; they join between decode steps", version,
                   source, std::chrono::duration<double>(Clock::now() - t0).count());
    } catch (const std::exception& e) {
      spdlog::warn("weights v{} from {} during an item: {}; the item goes on with the weights it has", version, source,
                   e.what());
      failed = source;
    }
    std::lock_guard<std::mutex> lock(fetch_mu_);
    if (!failed.empty()) fetch_failed_ = failed;
    fetch_running_ = false;
  });
}

GatewayWorker::~GatewayWorker() { EndItem(); }

std::string GatewayWorker::EndItem() {
  std::thread running;
  std::string failed;
  {
    std::lock_guard<std::mutex> lock(fetch_mu_);
    in_item_ = false;
    running = std::move(fetch_thread_);
  }
  if (running.joinable()) running.join();  // FetchWeights is one per store at a time: Serve's own fetch comes next
  std::lock_guard<std::mutex> lock(fetch_mu_);
  std::swap(failed, fetch_failed_);
  return failed;
}

void GatewayWorker::Serve(RolloutWorker& worker, const RunItemFn& run) {
  PRLM_CHECK_MSG(!joined_.name().empty(), "Serve before Join");
  const bool partial = worker.config().grpo.partial_rollouts != config::PartialRollouts::kOff;
  auto renew_every = std::max(std::chrono::milliseconds(100), std::chrono::milliseconds(joined_.lease_ms() / 4));
  if (partial) renew_every = std::min(renew_every, std::chrono::milliseconds(500));  // hear of new weights soon
  std::atomic<int64_t> holds{-1};
  std::string failed_source;
  // The lease runs on while this worker fetches weights or runs an item.
  Heartbeat heartbeat(
      [&] {
        proto::RenewRequest request;
        request.set_name(joined_.name());
        const auto reply = ParseReply<proto::RenewReply>(
            gateway_.Call(net::kRenewRequest, request.SerializeAsString(), std::chrono::seconds(10)), net::kRenewReply,
            gateway_.endpoint(), "a renewal");
        if (partial && reply.newest_version() > holds && !reply.weight_source().empty())
          StartFetch(reply.newest_version(), reply.weight_source(),
                     worker.config().rollout.delta_sync ? holds.load() : -1);
      },
      renew_every);
  // Partial rollouts: the newest version fetched during the item joins
  // between decode steps.
  struct FeedGuard {  // the feed refers to this worker's store: gone with Serve
    RolloutWorker& worker;
    ~FeedGuard() { worker.set_weight_feed(nullptr); }
  } feed_guard{worker};
  if (partial)
    worker.set_weight_feed([this, &worker](int64_t held) -> int64_t {
      const int64_t v = fetched_;
      if (v <= held) return -1;
      store_->CopyInto(v, worker.TrainableParameters());
      return v;
    });
  while (true) {
    // 1. Ask.
    const proto::WorkReply reply = Ask(holds, failed_source);
    failed_source.clear();
    switch (reply.kind()) {
      case proto::WorkReply::STOP:
        spdlog::info("the gateway says stop; {} weight bytes fetched", bytes_fetched_.load());
        return;
      case proto::WorkReply::UNKNOWN:
        spdlog::warn("the gateway no longer knows {} (its lease ran out): joining again", joined_.name());
        Join(join_name_);
        continue;
      case proto::WorkReply::WAIT:
        continue;
      case proto::WorkReply::WEIGHTS:  // 2.
        failed_source = FetchVersion(reply, worker);
        if (failed_source.empty()) holds = reply.weight_version();
        continue;
      case proto::WorkReply::WORK: {  // 3.
        PRLM_CHECK_MSG(reply.weight_version() == holds || (partial && reply.weight_version() < holds),
                       "work for v" << reply.weight_version() << " at v" << holds);
        util::SetLogStep(reply.work().step() + 1);
        if (partial) BeginItem();
        proto::RolloutResult result;
        try {
          result = run(reply.work());
        } catch (...) {
          if (partial) EndItem();
          throw;
        }
        holds = worker.weight_version();  // newer if weights joined mid-item
        spdlog::debug("step {} item {}: {} groups, generation {:.2f} s", reply.work().step(), reply.item(),
                      result.groups_size(), result.generation_s());
        SendResult(reply.item(), std::move(result));
        if (partial) {
          failed_source = EndItem();
          // A version that arrived after the item's last decode step serves the next item.
          if (const int64_t v = fetched_; v > holds) {
            store_->CopyInto(v, worker.TrainableParameters());
            worker.set_weight_version(v);
            holds = v;
          }
        }
        continue;
      }
      default:
        PRLM_THROW("the gateway at " << gateway_.endpoint().ToString() << " answered an unknown kind "
                                     << static_cast<int>(reply.kind()));
    }
  }
}

}  // namespace prlm::rollout_workers
