// The coordinator's lease ledger for rollout work (coordinator/work_leases.h):
// items go out in order; a lease that runs out re-issues its item first to
// the next worker and names the lost worker once; a renewed lease holds; the
// first result of an item is kept and copies are dropped, also when the slow
// worker's result beats the re-issued copy; a dropped worker's items wait
// again; a result for an item never issued is refused.
#include <gtest/gtest.h>

#include "coordinator/work_leases.h"
#include "tests/test_util.h"

namespace prlm::coordinator {
namespace {

using Clock = WorkLeases::Clock;
using std::chrono::seconds;

TEST(WorkLeases, ItemsGoOutInOrderAndTheStepEndsWhenEachHasOneResult) {
  WorkLeases w(seconds(30));
  for (uint64_t i = 0; i < 3; ++i) w.Add(i);
  const auto t = Clock::now();
  EXPECT_EQ(w.Lease("a", t), 0u);
  EXPECT_EQ(w.Lease("b", t), 1u);
  EXPECT_EQ(w.Lease("a", t), 2u);
  EXPECT_EQ(w.Lease("b", t), std::nullopt) << "nothing left to issue";
  EXPECT_EQ(w.leased(), 3u);
  EXPECT_TRUE(w.Complete("a", 0));
  EXPECT_TRUE(w.Complete("b", 1));
  EXPECT_FALSE(w.AllDone());
  EXPECT_TRUE(w.Complete("a", 2));
  EXPECT_TRUE(w.AllDone());
  EXPECT_TRUE(w.Expire(t + seconds(3600)).empty()) << "finished items never expire";
  EXPECT_EQ(w.reissued(), 0u);
}

TEST(WorkLeases, ALapsedLeaseIsReissuedFirstAndItsWorkerNamedOnce) {
  WorkLeases w(seconds(10));
  for (uint64_t i = 0; i < 4; ++i) w.Add(i);
  const auto t = Clock::now();
  ASSERT_EQ(w.Lease("dead", t), 0u);
  ASSERT_EQ(w.Lease("dead", t), 1u);
  ASSERT_EQ(w.Lease("alive", t), 2u);
  w.Renew("alive", t + seconds(8));  // a heartbeat while it generates
  EXPECT_TRUE(w.Expire(t + seconds(9)).empty());
  const auto lost = w.Expire(t + seconds(11));  // "dead" missed its deadline; "alive" renewed to 18 s
  ASSERT_EQ(lost.size(), 1u);
  EXPECT_EQ(lost[0].worker, "dead");
  EXPECT_EQ(lost[0].items, (std::vector<uint64_t>{0, 1}));
  EXPECT_TRUE(w.Expire(t + seconds(12)).empty()) << "named once";
  EXPECT_EQ(w.waiting(), 3u);
  // The lost items go out before the never-issued one.
  EXPECT_EQ(w.Lease("alive", t + seconds(12)), 0u);
  EXPECT_EQ(w.Lease("alive", t + seconds(12)), 1u);
  EXPECT_EQ(w.Lease("alive", t + seconds(12)), 3u);
  EXPECT_EQ(w.reissued(), 2u);
  for (uint64_t i = 0; i < 4; ++i) EXPECT_TRUE(w.Complete("alive", i));
  EXPECT_TRUE(w.AllDone());
}

TEST(WorkLeases, AnOverdueItemGoesOutOnceMoreWhileItsHolderKeepsIt) {
  WorkLeases w(seconds(10));
  for (uint64_t i = 0; i < 2; ++i) w.Add(i);
  const auto t = Clock::now();
  ASSERT_EQ(w.Lease("hung", t), 0u);
  ASSERT_EQ(w.Lease("fast", t + seconds(2)), 1u);
  EXPECT_TRUE(w.Complete("fast", 1));
  // "hung" heartbeats on, so its lease never lapses; the item is overdue at 30 s.
  for (int s = 5; s <= 40; s += 5) w.Renew("hung", t + seconds(s));
  EXPECT_TRUE(w.Overdue(t + seconds(29), seconds(30)).empty());
  const auto overdue = w.Overdue(t + seconds(30), seconds(30));
  ASSERT_EQ(overdue.size(), 1u);
  EXPECT_EQ(overdue[0].item, 0u);
  EXPECT_EQ(overdue[0].worker, "hung");
  EXPECT_TRUE(w.Overdue(t + seconds(31), seconds(30)).empty()) << "issued again once, not every tick";
  EXPECT_TRUE(w.Expire(t + seconds(31)).empty()) << "the holder is not lost: it still renews";
  EXPECT_EQ(w.waiting(), 1u);
  EXPECT_EQ(w.Lease("fast", t + seconds(31)), 0u);
  EXPECT_EQ(w.reissued(), 1u);
  EXPECT_TRUE(w.Overdue(t + seconds(70), seconds(30)).empty()) << "the second copy is not issued a third time";
  EXPECT_TRUE(w.Complete("fast", 0));
  EXPECT_FALSE(w.Complete("hung", 0)) << "the hung worker's late copy is dropped";
  EXPECT_TRUE(w.AllDone());
}

TEST(WorkLeases, AnOverdueItemWaitsOnceEvenWhenItsHolderIsThenLost) {
  WorkLeases w(seconds(10));
  w.Add(0);
  const auto t = Clock::now();
  ASSERT_EQ(w.Lease("slow", t), 0u);
  ASSERT_EQ(w.Overdue(t + seconds(5), seconds(5)).size(), 1u);
  ASSERT_EQ(w.Expire(t + seconds(11)).size(), 1u) << "then it falls silent";
  EXPECT_EQ(w.waiting(), 1u) << "one copy waits, not two";
  EXPECT_EQ(w.Lease("other", t + seconds(12)), 0u);
  EXPECT_FALSE(w.Lease("other", t + seconds(12)).has_value());
  EXPECT_TRUE(w.Complete("other", 0));
  EXPECT_TRUE(w.AllDone());
}

TEST(WorkLeases, TheFirstResultIsKeptAlsoFromASlowWorkerAndCopiesDropped) {
  WorkLeases w(seconds(5));
  w.Add(7);
  w.Add(8);
  const auto t = Clock::now();
  ASSERT_EQ(w.Lease("slow", t), 7u);
  ASSERT_EQ(w.Expire(t + seconds(6)).size(), 1u);
  // Slow, not dead: its result arrives before the re-issued copy is asked for.
  EXPECT_TRUE(w.Complete("slow", 7));
  EXPECT_EQ(w.Lease("other", t + seconds(6)), 8u) << "7 left the re-issue queue when its result came";
  EXPECT_FALSE(w.Complete("other", 7)) << "a copy";
  EXPECT_EQ(w.duplicate_results(), 1u);
  EXPECT_FALSE(w.AllDone());
  EXPECT_TRUE(w.Complete("other", 8));
  EXPECT_TRUE(w.AllDone());
}

TEST(WorkLeases, ADroppedWorkersItemsWaitAgainAndUnissuedResultsAreRefused) {
  WorkLeases w(seconds(60));
  for (uint64_t i = 0; i < 3; ++i) w.Add(i);
  const auto t = Clock::now();
  ASSERT_EQ(w.Lease("gone", t), 0u);
  ASSERT_EQ(w.Lease("here", t), 1u);
  EXPECT_FALSE(w.Complete("here", 2)) << "item 2 was never issued";
  EXPECT_FALSE(w.Complete("here", 99)) << "no such item";
  EXPECT_EQ(w.Drop("gone"), (std::vector<uint64_t>{0}));
  EXPECT_EQ(w.Drop("gone"), (std::vector<uint64_t>{})) << "nothing twice";
  EXPECT_EQ(w.Lease("here", t), 0u);
  EXPECT_EQ(w.leased(), 2u);
  EXPECT_EQ(w.waiting(), 1u);
  testing::ExpectErrorContaining([] { WorkLeases bad(seconds(0)); }, {"rollout.lease_s", "> 0"});
}

}  // namespace
}  // namespace prlm::coordinator
