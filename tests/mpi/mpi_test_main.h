// The main of a GoogleTest binary run under mpirun: every rank runs every
// test, only rank 0 prints progress, and the exit code is non-zero on every
// rank if any rank failed. REQUIRES: MPI initialised (an MpiJob alive).
#pragma once

#include <gtest/gtest.h>
#include <mpi.h>

namespace prlm::testing {

inline int RunMpiTests(int rank, int* argc, char** argv) {
  ::testing::InitGoogleTest(argc, argv);
  if (rank != 0) {
    auto& listeners = ::testing::UnitTest::GetInstance()->listeners();
    delete listeners.Release(listeners.default_result_printer());
  }
  const int failed = RUN_ALL_TESTS();
  int any = 0;
  MPI_Allreduce(&failed, &any, 1, MPI_INT, MPI_MAX, MPI_COMM_WORLD);
  return any;
}

}  // namespace prlm::testing
