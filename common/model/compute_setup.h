// Where numeric work runs: the device and dtype of a model, and the CPU
// thread budget.
//
// Devices: "cpu" (fp32), "cuda" (bf16, when this build of libtorch has CUDA
// and a GPU is visible), "auto" (cuda if possible, else cpu).
//
// CPU threads: Debian's libtorch calls OpenBLAS (pthreads build), which keeps
// its own thread pool. Letting both torch's intra-op pool and OpenBLAS use
// every core oversubscribes the machine: on the 2-core machines decode ran
// ~5x slower with torch=2/OpenBLAS=2 than with torch=1/OpenBLAS=2 (see
// docs/architecture.md). So matrix products get the cores through OpenBLAS
// and torch's own pool runs single-threaded.
// Thread-safety: call once, from the main thread, before any torch work.
#pragma once

#include <torch/types.h>

#include <string>

namespace prlm {

struct ComputeDevice {
  torch::Device device = torch::kCPU;
  torch::ScalarType dtype = torch::kFloat;
};

// Throws prlm::Error for an unknown name or "cuda" without CUDA.
ComputeDevice ResolveDevice(const std::string& name);

// threads <= 0 means all cores. Returns the count used.
int ConfigureCpuThreads(int threads);

}  // namespace prlm
