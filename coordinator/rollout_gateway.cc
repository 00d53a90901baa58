#include "coordinator/rollout_gateway.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <condition_variable>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include "common/net/message_types.h"
#include "common/util/check.h"
#include "coordinator/work_leases.h"
#include "proto/rollout_gateway.pb.h"

namespace prlm::coordinator {

namespace {

using Clock = std::chrono::steady_clock;

template <typename Message>
Message Parse(const std::string& payload, const char* name) {
  Message m;
  if (!m.ParseFromString(payload)) throw net::BadPayload(std::string("not a ") + name);
  return m;
}

net::Reply ReplyOf(uint16_t type, const google::protobuf::Message& m) { return {type, m.SerializeAsString()}; }

}  // namespace

struct RolloutGateway::Impl {
  struct Worker {
    std::string weights_address;
    Clock::time_point last_seen;
    int64_t holds = -1;     // the weight version it last said it holds
    int64_t fetching = -1;  // the version it was last told to fetch
    bool in_chain = true;
    bool told_stop = false;
  };
  struct Parked {
    std::string name;
    int64_t holds;
    net::Responder respond;
    Clock::time_point until;
  };

  std::unique_ptr<net::RpcServer> server;
  GatewayOptions options;
  std::thread serving, ticking;
  bool ticker_stop = false;  // guarded by mu

  mutable std::mutex mu;
  std::condition_variable changed;  // a result arrived, or a worker was heard
  std::map<std::string, Worker> workers;
  std::vector<std::string> chain;  // join order
  std::vector<Parked> parked;
  bool stopping = false;
  // The posted steps, oldest first (more than one with grpo.max_staleness >= 2).
  struct Posted {
    int64_t version = 0;
    std::vector<proto::RolloutWork> items;
    std::vector<std::optional<proto::RolloutResult>> results;
    std::unique_ptr<WorkLeases> leases;
  };
  std::map<int64_t, Posted> posted;
  int64_t newest = -1;            // the newest version published
  std::vector<std::string> lost;  // since the last Collect

  // The oldest posted step with an item waiting, or nullptr. REQUIRES: mu held.
  Posted* Waiting() {
    for (auto& [step, p] : posted)
      if (p.leases->waiting() > 0) return &p;
    return nullptr;
  }

  // The answer to an Ask now, or nullopt: park it. REQUIRES: mu held.
  std::optional<proto::WorkReply> Answer(const std::string& name, int64_t holds, Clock::time_point now) {
    proto::WorkReply r;
    const auto it = workers.find(name);
    if (it == workers.end()) {
      r.set_kind(stopping ? proto::WorkReply::STOP : proto::WorkReply::UNKNOWN);
      return r;
    }
    Worker& w = it->second;
    w.last_seen = now;
    w.holds = holds;
    if (!w.in_chain) {  // it asks, so it is alive: back in the chain, at the end
      w.in_chain = true;
      chain.erase(std::remove(chain.begin(), chain.end(), name), chain.end());
      chain.push_back(name);
    }
    if (stopping) {
      w.told_stop = true;
      r.set_kind(proto::WorkReply::STOP);
      return r;
    }
    Posted* p = Waiting();
    if (!p) return std::nullopt;
    if (holds < p->version || (holds > p->version && !options.partial_rollouts)) {
      r.set_kind(proto::WorkReply::WEIGHTS);
      r.set_weight_version(p->version);
      r.set_weight_source(SourceFor(name, p->version));
      w.fetching = p->version;
      return r;
    }
    const auto item = p->leases->Lease(name, now);
    PRLM_CHECK(item.has_value());
    r.set_kind(proto::WorkReply::WORK);
    r.set_item(*item);
    *r.mutable_work() = p->items[*item];
    r.set_weight_version(p->version);
    return r;
  }

  // The nearest worker before `name` in the chain that holds or fetches
  // `version`, else learner 0. REQUIRES: mu held.
  std::string SourceFor(const std::string& name, int64_t version) const {
    const auto at = std::find(chain.begin(), chain.end(), name);
    for (auto it = at; it != chain.begin();) {
      --it;
      const Worker& w = workers.at(*it);
      if (w.in_chain && (w.holds == version || w.fetching == version)) return w.weights_address;
    }
    return options.learner_weights;
  }

  // Lost workers: expired leases, and idle workers not heard for a lease.
  // REQUIRES: mu held.
  void Expire(Clock::time_point now) {
    std::vector<std::string> gone;
    for (auto& [step, p] : posted) {
      for (auto& l : p.leases->Expire(now)) gone.push_back(l.worker);
      if (options.item_timeout.count() > 0)
        for (const auto& h : p.leases->Overdue(now, options.item_timeout))
          spdlog::warn(
              "step {} work item {} is overdue: rollout worker {} has held it for rollout.item_timeout_s = {:g} s; "
              "it goes to the next worker that asks too (the first result counts)",
              step + 1, h.item, h.worker, std::chrono::duration<double>(options.item_timeout).count());
    }
    for (const auto& [name, w] : workers)
      if (now - w.last_seen > options.lease && !w.told_stop) gone.push_back(name);
    for (const auto& name : gone) {
      if (!workers.count(name)) continue;
      for (auto& [step, p] : posted) p.leases->Drop(name);
      workers.erase(name);
      chain.erase(std::remove(chain.begin(), chain.end(), name), chain.end());
      lost.push_back(name);
      spdlog::warn("rollout worker {} lost: no word from it for rollout.lease_s = {:g} s; its work goes to the others",
                   name, std::chrono::duration<double>(options.lease).count());
    }
  }

  // Answers parked asks that can be answered, or whose time is up.
  // REQUIRES: mu not held.
  void ServeParked() {
    std::vector<std::pair<net::Responder, proto::WorkReply>> out;
    {
      std::lock_guard<std::mutex> lock(mu);
      const auto now = Clock::now();
      std::vector<Parked> still;
      for (auto& p : parked) {
        auto answer = Answer(p.name, p.holds, now);
        if (!answer && now >= p.until) answer = proto::WorkReply();  // WAIT
        if (answer)
          out.emplace_back(p.respond, *answer);
        else
          still.push_back(std::move(p));
      }
      parked = std::move(still);
    }
    for (auto& [respond, reply] : out) respond(ReplyOf(net::kWorkReply, reply));
  }

  void Install() {
    server->Handle(net::kJoinRequest, [this](const std::string& payload) {
      const auto request = Parse<proto::JoinRequest>(payload, "JoinRequest");
      PRLM_REQUIRE(!request.weights_address().empty(), "a joining worker must name its weight server");
      proto::JoinReply reply;
      {
        std::lock_guard<std::mutex> lock(mu);
        std::string name = request.name().empty() ? "worker" : request.name();
        for (int n = 2; workers.count(name); ++n) name = request.name() + "#" + std::to_string(n);
        workers[name] = Worker{request.weights_address(), Clock::now()};
        chain.push_back(name);
        reply.set_name(name);
        spdlog::info("rollout worker {} joined ({} live; weights served at {})", name, workers.size(),
                     request.weights_address());
      }
      changed.notify_all();
      reply.set_config_yaml(options.config_yaml);
      for (const auto& e : options.retrieval) reply.add_retrieval(e);
      for (const auto& e : options.reward) reply.add_reward(e);
      reply.set_lease_ms(options.lease.count());
      return ReplyOf(net::kJoinReply, reply);
    });
    server->HandleAsync(net::kWorkRequest, [this](std::string payload, net::Responder respond) {
      const auto request = Parse<proto::WorkRequest>(payload, "WorkRequest");
      std::optional<proto::WorkReply> answer;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (!request.failed_source().empty())
          for (auto& [name, w] : workers)
            if (w.weights_address == request.failed_source() && name != request.name() && w.in_chain) {
              w.in_chain = false;
              spdlog::warn("rollout worker {} could not fetch weights from {} ({}): it leaves the relay chain",
                           request.name(), name, request.failed_source());
            }
        const auto now = Clock::now();
        answer = Answer(request.name(), request.weight_version(), now);
        if (!answer) parked.push_back({request.name(), request.weight_version(), respond, now + options.poll});
      }
      changed.notify_all();
      if (answer) respond(ReplyOf(net::kWorkReply, *answer));
    });
    server->Handle(net::kRenewRequest, [this](const std::string& payload) {
      const auto request = Parse<proto::RenewRequest>(payload, "RenewRequest");
      proto::RenewReply reply;
      std::lock_guard<std::mutex> lock(mu);
      const auto it = workers.find(request.name());
      reply.set_known(it != workers.end());
      if (reply.known()) {
        it->second.last_seen = Clock::now();
        for (auto& [step, p] : posted) p.leases->Renew(request.name(), it->second.last_seen);
        if (options.partial_rollouts && newest > it->second.holds && newest >= 0) {
          reply.set_newest_version(newest);
          reply.set_weight_source(SourceFor(request.name(), newest));
          it->second.fetching = newest;
        }
      }
      return ReplyOf(net::kRenewReply, reply);
    });
    server->Handle(net::kItemResult, [this](const std::string& payload) {
      auto request = Parse<proto::ItemResult>(payload, "ItemResult");
      proto::ItemResultReply reply;
      {
        std::lock_guard<std::mutex> lock(mu);
        if (const auto it = workers.find(request.name()); it != workers.end()) it->second.last_seen = Clock::now();
        const auto p = posted.find(request.result().step());
        const bool current = p != posted.end() && request.item() < p->second.results.size();
        reply.set_kept(current && p->second.leases->Complete(request.name(), request.item()));
        if (reply.kept()) p->second.results[request.item()] = std::move(*request.mutable_result());
      }
      changed.notify_all();
      return ReplyOf(net::kItemResultReply, reply);
    });
  }
};

RolloutGateway::RolloutGateway(std::unique_ptr<net::RpcServer> server, GatewayOptions options)
    : impl_(std::make_unique<Impl>()) {
  impl_->server = std::move(server);
  impl_->options = std::move(options);
  impl_->Install();
  impl_->serving = std::thread([this] { impl_->server->Run(); });
  // Every 100 ms: lost workers, and parked asks whose time is up.
  impl_->ticking = std::thread([g = impl_.get()] {
    while (true) {
      {
        std::unique_lock<std::mutex> lock(g->mu);
        if (g->changed.wait_for(lock, std::chrono::milliseconds(100), [g] { return g->ticker_stop; })) return;
        g->Expire(Clock::now());
      }
      g->ServeParked();
    }
  });
}

RolloutGateway::~RolloutGateway() { Stop(std::chrono::milliseconds(0)); }

uint16_t RolloutGateway::port() const { return impl_->server->port(); }

comm::MessageTraffic RolloutGateway::Traffic() const {
  const auto c = impl_->server->Counters();
  return {2 * c.at("frames_served"), c.at("bytes_received") + c.at("bytes_sent")};
}

int64_t RolloutGateway::live_workers() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return static_cast<int64_t>(impl_->workers.size());
}

void RolloutGateway::Post(int64_t step, int64_t version, std::vector<proto::RolloutWork> items) {
  PRLM_CHECK(!items.empty());
  {
    std::lock_guard<std::mutex> lock(impl_->mu);
    PRLM_CHECK_MSG(impl_->posted.empty() || step > impl_->posted.rbegin()->first,
                   "step " << step << " posted after step " << impl_->posted.rbegin()->first);
    Impl::Posted& p = impl_->posted[step];
    p.version = version;
    impl_->newest = std::max(impl_->newest, version);
    p.items = std::move(items);
    p.results.assign(p.items.size(), std::nullopt);
    p.leases = std::make_unique<WorkLeases>(impl_->options.lease);
    for (uint64_t i = 0; i < p.items.size(); ++i) p.leases->Add(i);
  }
  impl_->ServeParked();
}

RolloutGateway::Collected RolloutGateway::Collect(int64_t step, std::chrono::milliseconds patience) {
  Impl& g = *impl_;
  auto last_progress = Clock::now();
  size_t done_before = 0;
  while (true) {
    std::unique_lock<std::mutex> lock(g.mu);
    const auto it = g.posted.find(step);
    PRLM_CHECK_MSG(it != g.posted.end(), "Collect of step " << step << ", which is not posted");
    const WorkLeases& leases = *it->second.leases;
    if (leases.AllDone()) break;
    if (leases.done() > done_before) done_before = leases.done(), last_progress = Clock::now();
    if (Clock::now() - last_progress > patience)
      PRLM_THROW("step " << step + 1 << ": no rollout result for " << std::chrono::duration<double>(patience).count()
                         << " s (trainer.rank_timeout_s); " << leases.waiting() << " work items wait, "
                         << leases.leased() << " are leased, " << g.workers.size() << " rollout workers are live"
                         << (g.workers.empty() ? " (start or join some: prlm rollout --join)" : ""));
    g.changed.wait_for(lock, std::chrono::milliseconds(100));
  }
  std::lock_guard<std::mutex> lock(g.mu);
  Impl::Posted& p = g.posted.at(step);
  Collected c;
  for (auto& r : p.results) c.results.push_back(std::move(*r));
  c.workers = static_cast<int64_t>(g.workers.size());
  c.reissued = static_cast<int64_t>(p.leases->reissued());
  c.duplicates = static_cast<int64_t>(p.leases->duplicate_results());
  c.lost = std::move(g.lost);
  g.lost.clear();
  g.posted.erase(step);
  return c;
}

int64_t RolloutGateway::posted_steps() const {
  std::lock_guard<std::mutex> lock(impl_->mu);
  return static_cast<int64_t>(impl_->posted.size());
}

void RolloutGateway::Publish(int64_t version) {
  std::lock_guard<std::mutex> lock(impl_->mu);
  impl_->newest = std::max(impl_->newest, version);
}

void RolloutGateway::Stop(std::chrono::milliseconds grace) {
  Impl& g = *impl_;
  if (!g.serving.joinable()) return;
  {
    std::lock_guard<std::mutex> lock(g.mu);
    g.stopping = true;
  }
  const auto until = Clock::now() + grace;
  while (true) {
    g.ServeParked();
    std::unique_lock<std::mutex> lock(g.mu);
    bool all_told = true;
    for (const auto& [name, w] : g.workers) all_told = all_told && w.told_stop;
    if (all_told || Clock::now() >= until) break;
    g.changed.wait_for(lock, std::chrono::milliseconds(50));
  }
  {
    std::lock_guard<std::mutex> lock(g.mu);
    g.ticker_stop = true;
  }
  g.changed.notify_all();
  g.ticking.join();
  g.server->Stop();
  g.serving.join();
}

}  // namespace prlm::coordinator
