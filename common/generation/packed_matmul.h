// y = x Wᵀ + b on CPU in fp32, with W packed once: the decoder's linear
// layers in the generation engine's CPU forward (paged_forward.h).
//
// Why not BLAS: at decode sizes (tens of rows against weights of hundreds
// by thousands) an sgemm call spends about as long repacking W as it spends
// multiplying (perf at 32 rows on the small preset: OpenBLAS's
// sgemm_incopy was 24.5% of the process against 31% for its kernel). Here
// W is packed once, into column blocks [blocks][in][32] (32 output columns
// side by side for each input index), and every call streams the packed
// blocks against 8 rows of x held in registers.
//
// Three epilogues, so that the decoder needs no separate elementwise pass:
// Store (y = xWᵀ + b), Accumulate (y += xWᵀ + b: the residual add) and
// SwiGlu (y = silu(x Gᵀ + b_g) · (x Uᵀ + b_u): gate and up packed
// interleaved, 16 columns of each per block).
//
// Every output element is one multiply-add chain over k = 0..in-1 in order,
// whatever the number of rows, the row's place in its tile or the thread
// count: a row's result never depends on the other rows (the engine's
// determinism rests on this).
//
// The packed copy is taken from the source tensors at construction and again
// by Refresh() when a source was written in place or replaced since (its
// version counter or storage changed). Writes that bypass torch (a
// collective receiving into the storage) are not seen: pack after them.
//
// Thread-safety: Multiply may run concurrently on one PackedMatrix; Refresh
// may not run concurrently with anything.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <vector>

namespace prlm::generation {

class PackedMatrix {
 public:
  enum class Epilogue { kStore, kAccumulate, kSwiGlu };

  PackedMatrix() = default;
  // The rows of W are those of `weights` ([out_i, in] each, fp32, CPU) one
  // after another; `biases` beside them (an undefined tensor: no bias).
  PackedMatrix(std::vector<torch::Tensor> weights, std::vector<torch::Tensor> biases);
  // A SwiGLU pair: gate and up [intermediate, in]; out() is intermediate.
  static PackedMatrix GateUp(const torch::Tensor& gate, const torch::Tensor& up, const torch::Tensor& gate_bias,
                             const torch::Tensor& up_bias);

  int64_t in() const { return in_; }
  int64_t out() const { return out_; }

  // Packs again if a source tensor changed since the last packing.
  void Refresh();

  // x [m, in()] row-major (row stride in()), y [m, out()] with row stride ldy.
  // REQUIRES: the epilogue matches the construction (kSwiGlu for GateUp only).
  void Multiply(const float* x, int64_t m, float* y, int64_t ldy, Epilogue epilogue) const;

 private:
  struct Source {
    torch::Tensor tensor;
    const void* data = nullptr;
    int64_t version = -1;
  };
  PackedMatrix(std::vector<torch::Tensor> weights, std::vector<torch::Tensor> biases, bool gate_up);
  bool Stale() const;
  void Pack();

  bool gate_up_ = false;
  std::vector<Source> weights_, biases_;  // biases_[i].tensor undefined: none
  int64_t in_ = 0, out_ = 0, blocks_ = 0;
  torch::Tensor panels_;  // [blocks, in, 32] fp32 (64-byte aligned)
  std::vector<float> bias_;  // [blocks * 32], zero where no bias
};

}  // namespace prlm::generation
