// SplitMix64: a small, fully specified random generator. prlm uses it where
// output must be identical on every platform and library version (synthetic
// data, the seeded random retriever); std:: distributions are not.
// Thread-safety: one instance per thread.
#pragma once

#include <cstdint>
#include <utility>
#include <vector>

namespace prlm::util {

class SplitMix64 {
 public:
  explicit SplitMix64(uint64_t seed) : state_(seed) {}
  uint64_t Next() {
    uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
  }
  // One step from state `x`: a stateless 64-bit mixer (seed derivation).
  static uint64_t Mix(uint64_t x) { return SplitMix64(x).Next(); }
  // Uniform in [0, n). REQUIRES: n > 0.
  int Below(int n) { return static_cast<int>((static_cast<unsigned __int128>(Next()) * n) >> 64); }
  // Uniform in [0, 1).
  double Uniform() { return (Next() >> 11) * 0x1.0p-53; }

 private:
  uint64_t state_;
};

// Fisher-Yates with SplitMix64: the same order for the same seed everywhere.
template <typename T>
void Shuffle(std::vector<T>& v, uint64_t seed) {
  SplitMix64 rng(seed);
  for (size_t i = v.size(); i > 1; --i) std::swap(v[i - 1], v[static_cast<size_t>(rng.Below(static_cast<int>(i)))]);
}

}  // namespace prlm::util
