#include "coordinator/data_order.h"

#include <numeric>

#include "common/util/check.h"

namespace prlm::coordinator {

namespace {
uint64_t SplitMix64(uint64_t& state) {
  uint64_t z = (state += 0x9e3779b97f4a7c15ull);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}
}  // namespace

DataOrder::DataOrder(int64_t examples, int64_t prompts_per_step, uint64_t seed)
    : examples_(examples), per_step_(prompts_per_step), seed_(seed) {
  PRLM_REQUIRE(per_step_ >= 1, "trainer.prompts_per_step must be at least 1");
  PRLM_REQUIRE(examples_ >= per_step_, "the training split has " << examples_ << " questions, fewer than "
                                                                 << "trainer.prompts_per_step = " << per_step_);
}

std::vector<int64_t> DataOrder::Permutation(int64_t epoch) const {
  std::vector<int64_t> p(static_cast<size_t>(examples_));
  std::iota(p.begin(), p.end(), 0);
  uint64_t state = seed_ * 0x100000001b3ull + static_cast<uint64_t>(epoch);
  for (int64_t i = examples_ - 1; i > 0; --i) {
    const int64_t j = static_cast<int64_t>(SplitMix64(state) % static_cast<uint64_t>(i + 1));
    std::swap(p[i], p[j]);
  }
  return p;
}

std::vector<int64_t> DataOrder::Next(DataCursor& cursor) const {
  if (cursor.position + per_step_ > examples_) {
    ++cursor.epoch;
    cursor.position = 0;
  }
  const auto p = Permutation(cursor.epoch);
  std::vector<int64_t> out(p.begin() + cursor.position, p.begin() + cursor.position + per_step_);
  cursor.position += per_step_;
  return out;
}

}  // namespace prlm::coordinator
