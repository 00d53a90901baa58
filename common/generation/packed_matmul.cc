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

typedef float V16 __attribute__((vector_size(64)));

__attribute__((always_inline)) inline V16 Load(const float* p) {
  V16 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

__attribute__((always_inline)) inline void Store(float* p, const V16& v) { std::memcpy(p, &v, sizeof v); }

// rows [MR] × one block's 32 columns: lo holds columns 0-15, hi 16-31, each
// x[r][k] · W[k][lane] added in order of k, then the bias.
template <int MR>
__attribute__((always_inline)) inline void Tile(const float* x, int64_t in, const float* panel, const float* bias,
                                                V16 (&lo)[MR], V16 (&hi)[MR]) {
  for (int r = 0; r < MR; ++r) lo[r] = hi[r] = V16{};
  for (int64_t k = 0; k < in; ++k) {
    // The first tile of a block streams the panel from memory: ask for it
    // ahead (the hardware prefetcher stops at page boundaries).
    __builtin_prefetch(panel + kLanes * (k + 96));
    __builtin_prefetch(panel + kLanes * (k + 96) + 16);
    const V16 w0 = Load(panel + kLanes * k), w1 = Load(panel + kLanes * k + 16);
    for (int r = 0; r < MR; ++r) {
      const float a = x[r * in + k];
      lo[r] += a * w0;
      hi[r] += a * w1;
    }
  }
  const V16 b0 = Load(bias), b1 = Load(bias + 16);
  for (int r = 0; r < MR; ++r) lo[r] += b0, hi[r] += b1;
}

// One tile of rows through the epilogue into y (columns [c0, c0 + n)).
template <int MR>
__attribute__((always_inline)) inline void TileInto(const float* x, int64_t in, const float* panel, const float* bias,
                                                    PackedMatrix::Epilogue epilogue, float* y, int64_t ldy, int64_t n) {
  V16 lo[MR], hi[MR];
  Tile<MR>(x, in, panel, bias, lo, hi);
  for (int r = 0; r < MR; ++r) {
    float* yr = y + r * ldy;
    alignas(64) float t[kLanes];
    Store(t, lo[r]);
    Store(t + 16, hi[r]);
    switch (epilogue) {
      case PackedMatrix::Epilogue::kStore:
        std::copy_n(t, n, yr);
        break;
      case PackedMatrix::Epilogue::kAccumulate:
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) yr[j] += t[j];
        break;
      case PackedMatrix::Epilogue::kSwiGlu:  // t = [gate 16 | up 16]
#pragma omp simd
        for (int64_t j = 0; j < n; ++j) yr[j] = t[j] / (1.0f + ExpApprox(-t[j])) * t[16 + j];
        break;
    }
  }
}

// Everything below MultiplyBlocks is inlined into it, so that each of its
// clones compiles the vector code for its own instruction set.
template <int MR>
__attribute__((always_inline)) inline void RowsInto(const float* x, int64_t in, const float* panel, const float* bias,
                                                    PackedMatrix::Epilogue e, float* y, int64_t ldy, int64_t n,
                                                    int64_t rows) {
  if constexpr (MR > 1) {
    if (rows < MR) return RowsInto<MR - 1>(x, in, panel, bias, e, y, ldy, n, rows);
  }
  TileInto<MR>(x, in, panel, bias, e, y, ldy, n);
}

// Blocks [b0, b1) for all m rows. Tiles of 8 rows where AVX-512's 32
// registers hold their 16 accumulators, of 2 elsewhere.
PRLM_VECTOR_CLONES
void MultiplyBlocks(const float* x, int64_t m, int64_t in, const float* panels, const float* bias, int64_t b0,
                    int64_t b1, int64_t out, PackedMatrix::Epilogue e, float* y, int64_t ldy) {
  static const int64_t tile_rows = __builtin_cpu_supports("avx512f") ? 8 : 2;
  const int64_t width = e == PackedMatrix::Epilogue::kSwiGlu ? kLanes / 2 : kLanes;  // output columns per block
  for (int64_t b = b0; b < b1; ++b) {
    const float* panel = panels + b * in * kLanes;
    const int64_t c0 = b * width, n = std::min(width, out - c0);
    for (int64_t r0 = 0; r0 < m; r0 += tile_rows) {
      const int64_t rows = std::min(tile_rows, m - r0);
      RowsInto<8>(x + r0 * in, in, panel, bias + b * kLanes, e, y + r0 * ldy + c0, ldy, n, rows);
    }
  }
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
  auto run = [&](int64_t b0, int64_t b1) {
    MultiplyBlocks(x, m, in_, P, bias_.data(), b0, b1, out_, epilogue, y, ldy);
  };
  if (m * in_ * blocks_ * kLanes < kParallelWork) {
    run(0, blocks_);
  } else {
    at::parallel_for(0, blocks_, 1, run);
  }
}

}  // namespace prlm::generation
