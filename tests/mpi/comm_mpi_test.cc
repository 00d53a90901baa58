// Multi-rank tests of common/comm, run under mpirun by ctest (5 ranks):
// role assignment and the address all-gather, waiting without blocking MPI
// calls (delivery and timeout), and -- with --abort-from-rank R -- one rank's
// fatal error ending the whole job with its message.
#include <gtest/gtest.h>

#include <cstring>
#include <thread>

#include "common/comm/mpi_job.h"
#include "common/comm/role_directory.h"
#include "tests/mpi/mpi_test_main.h"

namespace prlm::comm {
namespace {

int Rank() {
  int r;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}
int Size() {
  int n;
  MPI_Comm_size(MPI_COMM_WORLD, &n);
  return n;
}

TEST(RoleDirectory, EveryRankLearnsEveryRoleAndAddress) {
  const config::Layout layout = config::DefaultLayout(Size());
  RankInfo mine = RoleOf(Rank(), layout);
  char host[256] = {0};
  gethostname(host, sizeof host - 1);
  mine.host = host;
  const bool serves = mine.role == Role::kRetrieval || mine.role == Role::kReward;
  mine.port = serves ? static_cast<uint16_t>(40000 + Rank()) : 0;
  const auto directory = ExchangeDirectory(mine, Size());
  ASSERT_EQ(static_cast<int>(directory.size()), Size());
  for (int r = 0; r < Size(); ++r) {
    const RankInfo expected = RoleOf(r, layout);
    EXPECT_EQ(directory[r].rank, r);
    EXPECT_EQ(directory[r].role, expected.role);
    EXPECT_EQ(directory[r].index, expected.index);
    EXPECT_EQ(directory[r].host, std::string(host));  // one machine here
  }
  const auto shards = OfRole(directory, Role::kRetrieval);
  ASSERT_EQ(static_cast<int64_t>(shards.size()), layout.retrieval);
  EXPECT_EQ(shards[0].port, 40000 + shards[0].rank);
  EXPECT_EQ(static_cast<int64_t>(OfRole(directory, Role::kLearner).size()), layout.learners);
  EXPECT_EQ(OfRole(directory, Role::kCoordinator).size(), 1u);
}

TEST(WaitFor, DeliversLateMessagesAndTimesOut) {
  // Rank 1 sends rank 0 a value after a pause; rank 0 waits by polling.
  if (Rank() == 0) {
    int value = 0;
    MPI_Request request;
    MPI_Irecv(&value, 1, MPI_INT, 1, 7, MPI_COMM_WORLD, &request);
    ASSERT_TRUE(WaitFor(&request, std::chrono::seconds(60)));
    EXPECT_EQ(value, 1234);
    // A message that is not sent yet: the wait gives up, the request stays pending...
    int later = 0;
    MPI_Request pending;
    MPI_Irecv(&later, 1, MPI_INT, 1, 8, MPI_COMM_WORLD, &pending);
    EXPECT_FALSE(WaitFor(&pending, std::chrono::milliseconds(50)));
    ASSERT_TRUE(Barrier(MPI_COMM_WORLD, std::chrono::seconds(60)));
    // ... and completes once it is sent.
    ASSERT_TRUE(WaitFor(&pending, std::chrono::seconds(60)));
    EXPECT_EQ(later, 99);
  } else {
    if (Rank() == 1) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      int value = 1234;
      MPI_Send(&value, 1, MPI_INT, 0, 7, MPI_COMM_WORLD);
    }
    ASSERT_TRUE(Barrier(MPI_COMM_WORLD, std::chrono::seconds(60)));
    if (Rank() == 1) {
      int value = 99;
      MPI_Send(&value, 1, MPI_INT, 0, 8, MPI_COMM_WORLD);
    }
  }
  ASSERT_TRUE(Barrier(MPI_COMM_WORLD, std::chrono::seconds(60)));
}

}  // namespace
}  // namespace prlm::comm

int main(int argc, char** argv) {
  prlm::comm::MpiJob job(&argc, &argv);
  // --abort-from-rank R: rank R fails; the others wait in a barrier that only an abort can end.
  for (int i = 1; i + 1 < argc; ++i)
    if (std::strcmp(argv[i], "--abort-from-rank") == 0) {
      if (job.rank() == std::atoi(argv[i + 1])) prlm::comm::AbortJob("learner", "simulated failure");
      prlm::comm::Barrier(MPI_COMM_WORLD, std::chrono::seconds(120));
      std::fprintf(stderr, "rank %d: the barrier ended without an abort\n", job.rank());
      return 0;
    }
  return prlm::testing::RunMpiTests(job.rank(), &argc, argv);
}
