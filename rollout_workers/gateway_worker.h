// A rollout worker of the elastic tier (docs/elastic.md): a TCP peer of the
// coordinator's gateway (coordinator/rollout_gateway.h) instead of an MPI
// receiver. Serve() loops:
//   1. ask the gateway (long-polled);
//   2. WEIGHTS: fetch the version from the source named, chunk by chunk,
//      into the store this worker's weight server shares with the next
//      worker of the relay chain; then copy it into the policy;
//   3. WORK: run the item, renewing the lease every quarter lease, and send
//      the result. With grpo.partial_rollouts a renewal (every 0.5 s then)
//      may name a newer version: it is fetched on its own thread into the
//      store while the item generates, and copied into the policy between
//      two decode steps (the store is the second buffer: a decode step
//      waits for a copy, never for the network);
//   4. STOP: return.
// A source that fails is reported on the next ask (the gateway picks
// another); a gateway that forgot this worker (its lease ran out while it
// was cut off) is joined again. A gateway that does not answer for the
// patience ends Serve with util::Error naming it.
//
// Thread-safety: one Serve at a time; the heartbeat runs on its own thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/comm/weight_relay.h"
#include "common/net/rpc_client.h"
#include "common/net/rpc_server.h"
#include "proto/rollout_gateway.pb.h"
#include "rollout_workers/rollout_worker.h"

namespace prlm::rollout_workers {

// What the elastic tier's clients bring: the job secret, and TLS unless
// net.tls=false. No certificate is pinned: every worker's weight server has
// its own, and the secret's handshake, bound to the TLS channel, proves the
// server (common/net/handshake.h).
net::ClientOptions ElasticClientOptions(const std::string& secret, bool tls);

// A worker's weight server: `store` for the next worker of the relay chain,
// served on its own thread on `host` (a free port) with a self-signed
// certificate (when tls) and the job secret, until destroyed.
class WeightServer {
 public:
  WeightServer(const std::string& host, const std::string& secret, bool tls, const comm::WeightStore& store);
  ~WeightServer();
  std::string address() const;  // host:port

 private:
  std::string host_;
  net::RpcServer server_;
  std::thread thread_;
};

class GatewayWorker {
 public:
  // `weights_address`: where this worker's weight server (serving `store`)
  // listens. `options`: the job secret and TLS (the elastic tier trusts the
  // secret's channel-bound handshake, not a certificate).
  GatewayWorker(net::Endpoint gateway, net::ClientOptions options, std::string weights_address,
                comm::WeightStore* store, std::chrono::milliseconds patience);
  ~GatewayWorker();  // waits for a fetch still running

  // Joins under `name` (host:pid when empty). Throws net::RpcError /
  // util::Error naming the gateway.
  const proto::JoinReply& Join(const std::string& name);

  using RunItemFn = std::function<proto::RolloutResult(const proto::RolloutWork&)>;
  // REQUIRES: Join() done. Returns when the gateway says STOP.
  void Serve(RolloutWorker& worker, const RunItemFn& run);

  const std::string& name() const { return joined_.name(); }
  uint64_t bytes_fetched() const { return bytes_fetched_; }

 private:
  proto::WorkReply Ask(int64_t holds, const std::string& failed_source);
  // Returns "" on success, else the source that failed.
  std::string FetchVersion(const proto::WorkReply& reply, RolloutWorker& worker);
  void SendResult(uint64_t item, proto::RolloutResult result);
  // Partial rollouts: the fetch of a newer version during an item.
  // StartFetch (heartbeat thread) starts one (as deltas against
  // `delta_base` when >= 0) unless one runs, the version is not newer than
  // the last started, or no item runs; EndItem (Serve's
  // thread) waits for it and returns the source that failed, if any.
  void BeginItem();
  void StartFetch(int64_t version, const std::string& source, int64_t delta_base);
  std::string EndItem();
  // Calls `call` until it succeeds or the gateway has been silent for the patience.
  net::RpcClient::Response CallGateway(uint16_t type, const std::string& payload, std::chrono::milliseconds timeout);

  net::RpcClient gateway_;
  net::ClientOptions options_;
  std::string weights_address_;
  comm::WeightStore* store_;
  std::chrono::milliseconds patience_;
  proto::JoinReply joined_;
  std::string join_name_;
  std::atomic<uint64_t> bytes_fetched_{0};
  std::mutex fetch_mu_;  // guards the five below
  bool in_item_ = false, fetch_running_ = false;
  int64_t fetch_started_ = -1;
  std::string fetch_failed_;
  std::thread fetch_thread_;
  std::atomic<int64_t> fetched_{-1};  // the newest version complete in the store by a fetch during an item
};

}  // namespace prlm::rollout_workers
