// The coordinator's door for an elastic rollout tier (docs/elastic.md):
// rollout workers, started by mpirun or joining later (`prlm rollout
// --join`), are TCP peers that ask for work, renew their leases while they
// generate, and return results; a worker that dies or drops off the network
// loses its leases and its work goes to the others.
//
// The step loop posts a step's items (Post), each to be run with one weight
// version, and waits for all their results (Collect). Several steps may be
// posted at once (grpo.max_staleness k >= 2: up to k ahead of the one being
// learnt); workers get the oldest step's items first, each with its step's
// version (so an item's samples depend only on its seeds and that version,
// however the timing falls). Meanwhile the gateway
// answers workers on its server's threads:
//   Join    a name (made unique) and the weight server the worker runs; the
//           reply carries the job's config and the services' addresses;
//   Ask     long-polled (held up to ~1 s while nothing waits): WORK with an
//           item under a lease, WEIGHTS (fetch the item's version first,
//           from a source the gateway picks), WAIT, or STOP;
//   Renew   a heartbeat during an item; with partial rollouts the reply
//           names the newest published version and a source for it, so
//           the worker can fetch it while it generates and swap it in
//           between decode steps;
//   Result  the first result of an item is kept (work_leases.h).
// Weight sources form a chain in join order (comm/weight_relay.h): a
// worker fetches from the nearest worker before it that holds or is fetching
// the version, else from learner 0; a source a worker reports it cannot
// reach leaves the chain until it asks again.
//
// A worker is lost when its lease runs out or it has not asked for
// `lease` while idle; it is named once (Collected::lost) and its items wait
// again, to be issued first. A lost worker that asks again is told UNKNOWN
// and may join again.
//
// Thread-safety: Post, Collect, Stop and the accessors from the step loop's
// thread; the handlers run on the server's threads under one mutex.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/comm/job_messages.h"
#include "common/net/rpc_server.h"
#include "proto/train.pb.h"

namespace prlm::coordinator {

struct GatewayOptions {
  std::chrono::milliseconds lease{60000};      // rollout.lease_s
  std::string config_yaml;                     // the job's effective config, for joining workers
  std::vector<std::string> retrieval, reward;  // service endpoints, host:port
  std::string learner_weights;                 // learner 0's weight server, host:port
  std::chrono::milliseconds poll{1000};        // how long an Ask may be held
  std::chrono::milliseconds item_timeout{0};   // rollout.item_timeout_s (0: off)
  // grpo.partial_rollouts on: a worker holding a newer version than an
  // item's runs it with that (fresher, so within the bound), and renewals
  // name the newest version.
  bool partial_rollouts = false;
};

class RolloutGateway {
 public:
  // Serves on `server` (bound, not yet running; its handlers are added here).
  RolloutGateway(std::unique_ptr<net::RpcServer> server, GatewayOptions options);
  ~RolloutGateway();  // Stop(0) if not stopped
  RolloutGateway(const RolloutGateway&) = delete;
  RolloutGateway& operator=(const RolloutGateway&) = delete;

  uint16_t port() const;
  // Frames and bytes through the gateway so far, both directions.
  comm::MessageTraffic Traffic() const;

  // The items of `step`, each run with weights `version`. REQUIRES: step
  // above every step posted and not yet collected; items non-empty.
  void Post(int64_t step, int64_t version, std::vector<proto::RolloutWork> items);

  struct Collected {
    std::vector<proto::RolloutResult> results;  // by item
    int64_t workers = 0;                        // live workers at the end
    int64_t reissued = 0;                       // items handed out again
    int64_t duplicates = 0;                     // results dropped (copies, stale)
    std::vector<std::string> lost;              // workers lost during the step, named once
  };
  // Waits for every item of `step` (REQUIRES: posted) and forgets the step.
  // Throws util::Error when none of its results arrives for `patience`
  // (naming how many of its items wait and whether any worker is live).
  Collected Collect(int64_t step, std::chrono::milliseconds patience);
  // Steps posted and not yet collected.
  int64_t posted_steps() const;
  // Learner 0 has published `version` (told to workers mid-item when
  // partial rollouts are on). Posting a step publishes its version too.
  void Publish(int64_t version);

  // Every Ask is answered STOP from now on; waits up to `grace` until every
  // live worker has heard it, then stops the server.
  void Stop(std::chrono::milliseconds grace);

  // Workers that joined and are not lost.
  int64_t live_workers() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace prlm::coordinator
