#include "coordinator/work_leases.h"

#include <algorithm>

#include "common/util/check.h"

namespace prlm::coordinator {

WorkLeases::WorkLeases(Clock::duration lease) : lease_(lease) {
  PRLM_REQUIRE(lease > Clock::duration::zero(), "rollout.lease_s must be > 0");
}

void WorkLeases::Add(uint64_t item) {
  PRLM_CHECK_MSG(known_.insert(item).second, "work item " << item << " added twice");
  waiting_.push_back(item);
}

std::optional<uint64_t> WorkLeases::Lease(const std::string& worker, Clock::time_point now) {
  std::deque<uint64_t>& from = reissue_.empty() ? waiting_ : reissue_;
  if (from.empty()) return std::nullopt;
  const uint64_t item = from.front();
  from.pop_front();
  if (&from == &reissue_) ++reissued_;
  issued_.insert(item);
  leases_[item] = LeaseOf{worker, now + lease_, now};
  return item;
}

void WorkLeases::Renew(const std::string& worker, Clock::time_point now) {
  for (auto& [item, lease] : leases_)
    if (lease.worker == worker) lease.deadline = now + lease_;
}

bool WorkLeases::Complete(const std::string& worker, uint64_t item) {
  (void)worker;  // any worker's result counts: the item's seeds fix its samples
  if (!issued_.count(item) || !done_.insert(item).second) {
    ++duplicates_;
    return false;
  }
  // Taken: the item leaves whichever queue or lease holds it (a slow
  // worker's result may beat the re-issued copy).
  leases_.erase(item);
  std::erase(reissue_, item);
  return true;
}

void WorkLeases::Requeue(uint64_t item) {
  // An overdue item may wait already while its holder's lease lapses.
  if (!done_.count(item) && std::find(reissue_.begin(), reissue_.end(), item) == reissue_.end())
    reissue_.push_back(item);
}

std::vector<WorkLeases::Held> WorkLeases::Overdue(Clock::time_point now, Clock::duration limit) {
  PRLM_CHECK(limit > Clock::duration::zero());
  std::vector<Held> out;
  for (const auto& [item, lease] : leases_)
    if (now - lease.issued >= limit && overdue_.insert(item).second) {
      Requeue(item);
      out.push_back({item, lease.worker});
    }
  return out;
}

std::vector<WorkLeases::Lost> WorkLeases::Expire(Clock::time_point now) {
  std::map<std::string, std::vector<uint64_t>> lost;
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second.deadline > now) {
      ++it;
      continue;
    }
    lost[it->second.worker].push_back(it->first);
    Requeue(it->first);
    it = leases_.erase(it);
  }
  std::vector<Lost> out;
  for (auto& [worker, items] : lost) out.push_back(Lost{worker, std::move(items)});
  return out;
}

std::vector<uint64_t> WorkLeases::Drop(const std::string& worker) {
  std::vector<uint64_t> items;
  for (auto it = leases_.begin(); it != leases_.end();) {
    if (it->second.worker != worker) {
      ++it;
      continue;
    }
    items.push_back(it->first);
    Requeue(it->first);
    it = leases_.erase(it);
  }
  return items;
}

}  // namespace prlm::coordinator
