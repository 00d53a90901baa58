// torch::matmul(a, b) accumulated in fp32 on every device.
//
// libtorch 1.13's CPU GEMM for bf16 on CPUs without native bf16 (no
// AVX512-BF16 or AMX, where oneDNN does not take it) accumulates in bf16 for
// some operand layouts, among them both of attention's products (scores from
// head-strided q and k; probabilities x values). Measured on an AVX2 machine
// (Debian's torch 1.13): 1.4-1.6% max relative error on 24-48-long rows,
// 5-8% on 1-4k-long ones, against 0.2-0.3% (the bf16 rounding of the output)
// for nn.Linear's layout. The decoder's bf16 logits landed up to 1.9x as far
// from transformers' fp32 ones as transformers' own bf16 run does; through
// this, on 6 of the 8 fixtures that have that run, exactly as far
// (tests/gpu: gpu_checks parity).
//
// On such CPUs, with bf16 operands (or bf16 autocast), this rounds both
// operands to bf16, multiplies them in fp32 and rounds the product to bf16:
// what oneDNN's or a GPU's fp32 accumulation gives. Everywhere else it is
// torch::matmul. Gradients flow through either.
// Thread-safety: as torch::matmul.
#pragma once

#include <torch/types.h>

namespace prlm::model {

torch::Tensor MatmulAccumulatingInFp32(const torch::Tensor& a, const torch::Tensor& b);

}  // namespace prlm::model
