#include "common/generation/packed_matmul.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cstring>

#include "common/generation/vector_math.h"
#include "common/util/check.h"

namespace prlm::generation {

namespace {

constexpr int64_t kLanes = 32;  // output columns per packed block
// Multiply-adds in one call below which it runs on one thread.
constexpr int64_t kParallelWork = 1 << 18;

// The kernel is one template over the vector type, compiled three times with
// the instruction set's own width: 16 floats (AVX-512), 8 (AVX2 + FMA), 4
// (plain x86-64). A vector wider than the target (the 64-byte one in an
// AVX2 function) is lowered by GCC through the stack, broadcasts included:
// on an AVX2-only machine that prefilled ~30x and decoded ~20x slower than
// the native width (docs/generation.md).
typedef float V16 __attribute__((vector_size(64)));
typedef float V8 __attribute__((vector_size(32)));
typedef float V4 __attribute__((vector_size(16)));

template <typename V>
constexpr int kWidth = sizeof(V) / sizeof(float);

template <typename V>
__attribute__((always_inline)) inline V Load(const float* p) {
  V v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename V>
__attribute__((always_inline)) inline void Store(float* p, const V& v) {
  std::memcpy(p, &v, sizeof v);
}

// rows [MR] × one block's 32 columns into t: each x[r][k] · W[k][lane] added
// in order of k, then the bias.
template <typename V, int MR>
__attribute__((always_inline)) inline void Tile(const float* x, int64_t in, const float* panel, const float* bias,
                                                float (&t)[MR][kLanes]) {
  constexpr int kParts = kLanes / kWidth<V>;  // vectors per row of a block
  V acc[MR][kParts];
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < kParts; ++j) acc[r][j] = V{};
  for (int64_t k = 0; k < in; ++k) {
    // The first tile of a block streams the panel from memory: ask for it
    // ahead (the hardware prefetcher stops at page boundaries).
    __builtin_prefetch(panel + kLanes * (k + 96));
    __builtin_prefetch(panel + kLanes * (k + 96) + 16);
    V w[kParts];
    for (int j = 0; j < kParts; ++j) w[j] = Load<V>(panel + kLanes * k + j * kWidth<V>);
    for (int r = 0; r < MR; ++r) {
      const V a = V{} + x[r * in + k];  // a broadcast
      for (int j = 0; j < kParts; ++j) acc[r][j] += a * w[j];
    }
  }
  for (int r = 0; r < MR; ++r)
    for (int j = 0; j < kParts; ++j) Store<V>(t[r] + j * kWidth<V>, acc[r][j] + Load<V>(bias + j * kWidth<V>));
}

// One tile of rows through the epilogue into y (columns [c0, c0 + n)).
template <typename V, int MR>
__attribute__((always_inline)) inline void TileInto(const float* x, int64_t in, const float* panel, const float* bias,
                                                    PackedMatrix::Epilogue epilogue, float* y, int64_t ldy, int64_t n) {
  alignas(64) float t[MR][kLanes];
  Tile<V, MR>(x, in, panel, bias, t);
  for (int r = 0; r < MR; ++r) {
    float* yr = y + r * ldy;
    const float* tr = t[r];
    switch (epilogue) {
      case PackedMatrix::Epilogue::kStore:
        std::copy_n(tr, n, yr);
        break;
      case PackedMatrix::Epilogue::kAccumulate:
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) yr[j] += tr[j];
        break;
      case PackedMatrix::Epilogue::kSwiGlu:  // t = [gate 16 | up 16]
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) yr[j] = tr[j] / (1.0f + ExpApprox(-tr[j])) * tr[16 + j];
        break;
    }
  }
}

template <typename V, int MR>
__attribute__((always_inline)) inline void RowsInto(const float* x, int64_t in, const float* panel, const float* bias,
                                                    PackedMatrix::Epilogue e, float* y, int64_t ldy, int64_t n,
                                                    int64_t rows) {
  if constexpr (MR > 1) {
    if (rows < MR) return RowsInto<V, MR - 1>(x, in, panel, bias, e, y, ldy, n, rows);
  }
  TileInto<V, MR>(x, in, panel, bias, e, y, ldy, n);
}

// Blocks [b0, b1) for all m rows, in tiles of MR rows: as many as leave the
// registers room for the tile's 32-column accumulators and one panel row.
template <typename V, int MR>
__attribute__((always_inline)) inline void Blocks(const float* x, int64_t m, int64_t in, const float* panels,
                                                  const float* bias, int64_t b0, int64_t b1, int64_t out,
                                                  PackedMatrix::Epilogue e, float* y, int64_t ldy) {
  const int64_t width = e == PackedMatrix::Epilogue::kSwiGlu ? kLanes / 2 : kLanes;  // output columns per block
  for (int64_t b = b0; b < b1; ++b) {
    const float* panel = panels + b * in * kLanes;
    const int64_t c0 = b * width, n = std::min(width, out - c0);
    for (int64_t r0 = 0; r0 < m; r0 += MR)
      RowsInto<V, MR>(x + r0 * in, in, panel, bias + b * kLanes, e, y + r0 * ldy + c0, ldy, n,
                      std::min<int64_t>(MR, m - r0));
  }
}

using BlocksFn = void (*)(const float*, int64_t, int64_t, const float*, const float*, int64_t, int64_t, int64_t,
                          PackedMatrix::Epilogue, float*, int64_t);

#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
// AVX-512: 32 registers, 8 rows x 2 vectors of accumulators.
__attribute__((target("avx512f"))) void BlocksAvx512(const float* x, int64_t m, int64_t in, const float* panels,
                                                     const float* bias, int64_t b0, int64_t b1, int64_t out,
                                                     PackedMatrix::Epilogue e, float* y, int64_t ldy) {
  Blocks<V16, 8>(x, m, in, panels, bias, b0, b1, out, e, y, ldy);
}
// AVX2 + FMA: 16 registers, 3 rows x 4 vectors of accumulators.
__attribute__((target("avx2,fma"))) void BlocksAvx2(const float* x, int64_t m, int64_t in, const float* panels,
                                                    const float* bias, int64_t b0, int64_t b1, int64_t out,
                                                    PackedMatrix::Epilogue e, float* y, int64_t ldy) {
  Blocks<V8, 3>(x, m, in, panels, bias, b0, b1, out, e, y, ldy);
}
#endif
void BlocksPortable(const float* x, int64_t m, int64_t in, const float* panels, const float* bias, int64_t b0,
                    int64_t b1, int64_t out, PackedMatrix::Epilogue e, float* y, int64_t ldy) {
  Blocks<V4, 1>(x, m, in, panels, bias, b0, b1, out, e, y, ldy);
}

// The widest this CPU runs, chosen once.
BlocksFn MultiplyBlocks() {
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
  static const BlocksFn fn = __builtin_cpu_supports("avx512f")                                 ? BlocksAvx512
                             : __builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma") ? BlocksAvx2
                                                                                               : BlocksPortable;
  return fn;
#else
  return BlocksPortable;
#endif
}

void CheckSource(const torch::Tensor& t, int64_t in, const char* what) {
  PRLM_CHECK_MSG(t.device().is_cpu() && t.scalar_type() == torch::kFloat,
                 "packed matmul: " << what << " must be fp32 on CPU, got " << t.scalar_type() << " on " << t.device());
  if (in >= 0) PRLM_CHECK_MSG(t.dim() == 2 && t.size(1) == in, "packed matmul: " << what << " " << t.sizes());
}

}  // namespace

PackedMatrix::PackedMatrix(std::vector<torch::Tensor> weights, std::vector<torch::Tensor> biases)
    : PackedMatrix(std::move(weights), std::move(biases), /*gate_up=*/false) {}

PackedMatrix PackedMatrix::GateUp(const torch::Tensor& gate, const torch::Tensor& up, const torch::Tensor& gate_bias,
                                  const torch::Tensor& up_bias) {
  PRLM_CHECK_MSG(gate.sizes() == up.sizes(), "packed matmul: gate " << gate.sizes() << " and up " << up.sizes());
  return PackedMatrix({gate, up}, {gate_bias, up_bias}, /*gate_up=*/true);
}

PackedMatrix::PackedMatrix(std::vector<torch::Tensor> weights, std::vector<torch::Tensor> biases, bool gate_up)
    : gate_up_(gate_up) {
  PRLM_CHECK(!weights.empty() && weights.size() == biases.size());
  in_ = weights[0].size(1);
  for (size_t i = 0; i < weights.size(); ++i) {
    CheckSource(weights[i], in_, "weight");
    out_ += weights[i].size(0);
    if (biases[i].defined()) {
      CheckSource(biases[i], -1, "bias");
      PRLM_CHECK(biases[i].numel() == weights[i].size(0));
    }
    weights_.push_back({weights[i]});
    biases_.push_back({biases[i]});
  }
  if (gate_up_) out_ = weights[0].size(0);
  const int64_t width = gate_up_ ? kLanes / 2 : kLanes;  // output columns per block
  blocks_ = (out_ + width - 1) / width;
  Pack();
}

bool PackedMatrix::Stale() const {
  for (const auto* sources : {&weights_, &biases_}) {
    for (const auto& s : *sources) {
      if (s.tensor.defined() && (s.tensor.data_ptr() != s.data || s.tensor._version() != s.version)) return true;
    }
  }
  return false;
}

void PackedMatrix::Refresh() {
  if (Stale()) Pack();
}

void PackedMatrix::Pack() {
  panels_ = torch::zeros({blocks_, in_, kLanes}, torch::kFloat);
  bias_.assign(blocks_ * kLanes, 0.0f);
  float* P = panels_.data_ptr<float>();
  std::vector<torch::Tensor> w, b;
  for (size_t i = 0; i < weights_.size(); ++i) {
    w.push_back(weights_[i].tensor.contiguous());
    b.push_back(biases_[i].tensor.defined() ? biases_[i].tensor.contiguous() : torch::Tensor());
  }
  // Source row `row` of weights_[i] goes to lane `lane` of block `block`.
  auto place = [&](size_t i, int64_t row, int64_t block, int64_t lane) {
    const float* src = w[i].data_ptr<float>() + row * in_;
    float* dst = P + block * in_ * kLanes + lane;
    for (int64_t k = 0; k < in_; ++k) dst[k * kLanes] = src[k];
    if (b[i].defined()) bias_[block * kLanes + lane] = b[i].data_ptr<float>()[row];
  };
  if (gate_up_) {
    for (int64_t row = 0; row < out_; ++row) {
      place(0, row, row / (kLanes / 2), row % (kLanes / 2));
      place(1, row, row / (kLanes / 2), kLanes / 2 + row % (kLanes / 2));
    }
  } else {
    int64_t column = 0;
    for (size_t i = 0; i < weights_.size(); ++i) {
      for (int64_t row = 0; row < weights_[i].tensor.size(0); ++row, ++column) {
        place(i, row, column / kLanes, column % kLanes);
      }
    }
  }
  for (auto* sources : {&weights_, &biases_}) {
    for (auto& s : *sources) {
      if (!s.tensor.defined()) continue;
      s.data = s.tensor.data_ptr();
      s.version = s.tensor._version();
    }
  }
}

void PackedMatrix::Multiply(const float* x, int64_t m, float* y, int64_t ldy, Epilogue epilogue) const {
  PRLM_CHECK_MSG((epilogue == Epilogue::kSwiGlu) == gate_up_, "packed matmul: the SwiGLU epilogue needs GateUp");
  const float* P = panels_.data_ptr<float>();
  const BlocksFn blocks = MultiplyBlocks();
  auto run = [&](int64_t b0, int64_t b1) { blocks(x, m, in_, P, bias_.data(), b0, b1, out_, epilogue, y, ldy); };
  if (m * in_ * blocks_ * kLanes < kParallelWork) {
    run(0, blocks_);
  } else {
    at::parallel_for(0, blocks_, 1, run);
  }
}

}  // namespace prlm::generation
