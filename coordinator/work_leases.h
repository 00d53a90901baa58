// Who holds which rollout work, and until when: the coordinator's ledger for
// an elastic rollout tier (docs/elastic.md), where a worker may die or drop
// off the network at any time and another may join.
//
// A step's rollout work is a set of items (a few questions each, with their
// sampling seeds). A worker asks for work and is given an item with a lease:
// a deadline by which its result must arrive or the worker must renew (a
// heartbeat while it generates). When a lease runs out, or the worker's
// connection ends (Drop), the item waits again and the next worker to ask
// gets it first (re-issued). Because every sample's seed is part of the
// item, whoever runs it produces the same samples: the step's data do not
// depend on which worker ran what, or on losses.
//
// An item can also be overdue: held longer than a limit since it was issued,
// renewals notwithstanding (a worker that hangs while its heartbeat goes
// on, or a straggler). Overdue() issues such an item once more to the next
// worker that asks; its first holder keeps working on it.
//
// A result is accepted once per item: the first to arrive, even from a
// worker whose lease had run out (it was slow, not dead); later copies are
// counted and dropped. A worker whose lease ran out is named once, so the
// job can log and count it (rollout/lost_workers).
//
// Time is passed in (no clock inside), so tests need no sleeps.
// Thread-safety: none; the coordinator's step loop owns it.
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

namespace prlm::coordinator {

class WorkLeases {
 public:
  using Clock = std::chrono::steady_clock;

  // REQUIRES: lease > 0.
  explicit WorkLeases(Clock::duration lease);

  // A new item waits to be issued. REQUIRES: `item` was never added.
  void Add(uint64_t item);

  // The next waiting item for `worker` (re-issued items first, then in the
  // order added), leased until now + lease; nullopt when none waits.
  std::optional<uint64_t> Lease(const std::string& worker, Clock::time_point now);

  // The worker is alive and working: its leases run until now + lease.
  void Renew(const std::string& worker, Clock::time_point now);

  // A result for `item`: true when it is the first (keep it), false for a
  // copy of a result already taken or an item never issued (drop it).
  bool Complete(const std::string& worker, uint64_t item);

  struct Lost {
    std::string worker;
    std::vector<uint64_t> items;  // now waiting again
  };
  // Leases past their deadline: their items wait again. One entry per
  // worker that held any, in name order.
  std::vector<Lost> Expire(Clock::time_point now);

  // The worker is gone (its connection ended): its items wait again.
  std::vector<uint64_t> Drop(const std::string& worker);

  // Items leased `limit` or longer ago and never issued twice this way: each
  // waits to be issued again (first), the lease staying with its holder
  // until another worker takes it. REQUIRES: limit > 0.
  struct Held {
    uint64_t item;
    std::string worker;
  };
  std::vector<Held> Overdue(Clock::time_point now, Clock::duration limit);

  bool AllDone() const { return done_.size() == known_.size(); }
  size_t waiting() const { return waiting_.size() + reissue_.size(); }
  size_t leased() const { return leases_.size(); }
  size_t done() const { return done_.size(); }
  uint64_t reissued() const { return reissued_; }             // items handed out again
  uint64_t duplicate_results() const { return duplicates_; }  // results dropped (copies, unissued items)

 private:
  struct LeaseOf {
    std::string worker;
    Clock::time_point deadline;
    Clock::time_point issued;  // when this worker took it
  };
  void Requeue(uint64_t item);

  Clock::duration lease_;
  std::set<uint64_t> known_;            // every item added
  std::set<uint64_t> issued_;           // every item leased at least once
  std::deque<uint64_t> waiting_;        // never issued, in order added
  std::deque<uint64_t> reissue_;        // issued, then lost: issued first
  std::map<uint64_t, LeaseOf> leases_;  // item -> who holds it, until when
  std::set<uint64_t> done_;
  std::set<uint64_t> overdue_;  // issued again by Overdue (once each)
  uint64_t reissued_ = 0, duplicates_ = 0;
};

}  // namespace prlm::coordinator
