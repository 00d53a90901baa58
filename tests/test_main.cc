#include <gtest/gtest.h>

#include <ATen/Parallel.h>

int main(int argc, char** argv) {
  testing::InitGoogleTest(&argc, argv);
  at::set_num_threads(1);  // ctest may run several test processes at once
  return RUN_ALL_TESTS();
}
