// What the engine's CPU kernels (paged attention, packed matmul) share: the
// instruction sets they are compiled for, and an exp that vectorises.
#pragma once

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

// The kernels' inner loops are compiled for AVX-512, AVX2 and plain x86-64
// and picked at load time, so the binary stays portable.
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define PRLM_VECTOR_CLONES __attribute__((target_clones("avx512f", "avx2", "default")))
#else
#define PRLM_VECTOR_CLONES
#endif

namespace prlm::generation {

// exp(v) in fp32 written so that it vectorises inside `#pragma omp simd`
// loops (std::exp does not): Cephes' expf, range reduction by ln 2 and a
// degree-6 polynomial, ~1 ulp. v is clamped to [-87, 88], where the result
// stays a normal finite float.
inline float ExpApprox(float v) {
  v = std::min(std::max(v, -87.0f), 88.0f);
  const float k = std::floor(v * 1.44269504088896341f + 0.5f);
  const float r = v - k * 0.693359375f + k * 2.12194440e-4f;
  const float y = ((((((1.9875691500e-4f * r + 1.3981999507e-3f) * r + 8.3334519073e-3f) * r + 4.1665795894e-2f) * r +
                     1.6666665459e-1f) *
                        r +
                    5.0000001201e-1f) *
                       r * r +
                   r + 1.0f);
  return y * std::bit_cast<float>((static_cast<int32_t>(k) + 127) << 23);
}

}  // namespace prlm::generation
