// Where numeric work runs: the device and dtype of a model, and the CPU
// thread budget.
//
// Devices: "cpu", "cuda" (when this build of libtorch has CUDA and a GPU is
// visible), "cuda:N", "auto" (cuda if possible, else cpu). "cuda" and "auto"
// mean this process's GPU: the one SetLocalGpuSlot picked among those
// visible (CUDA_VISIBLE_DEVICES applies, as CUDA numbers only those). Dtypes: "fp32", "bf16",
// "auto" (bf16 on cuda, fp32 on cpu). bf16 on CPU uses oneDNN's bf16 kernels
// (AVX512-BF16 / AMX), several times faster than fp32 on CPUs that have them.
// Inference (generation, rollout, eval) holds bf16 weights; training keeps
// fp32 weights and runs only the matrix products in bf16 (learner/autocast.h).
//
// CPU threads: Debian's libtorch calls OpenBLAS (pthreads build) for fp32
// matrix products and oneDNN (on torch's OpenMP pool) for bf16 ones. Letting
// both OpenBLAS and torch's pool use every core oversubscribes the machine: on
// the 2-core machines fp32 decode ran ~5x slower with torch=2/OpenBLAS=2 than
// with torch=1/OpenBLAS=2 (docs/architecture.md). So the cores go to the pool
// that does the matrix products of the model's dtype: OpenBLAS for fp32,
// torch's pool for bf16; the other runs single-threaded.
// Thread-safety: call once, from the main thread, before any torch work.
#pragma once

#include <c10/core/Device.h>  // c10's, not <torch/types.h>: a rank's headers need the names, not ATen
#include <c10/core/ScalarType.h>

#include <string>

namespace prlm::model {

struct ComputeDevice {
  c10::Device device = c10::kCPU;  // = torch::Device
  c10::ScalarType dtype = c10::kFloat;
  int cpu_threads = 0;  // set by whoever calls ConfigureCpuThreads
};

// True when this CPU multiplies bf16 natively (AVX512-BF16 or AMX-BF16);
// elsewhere bf16 on CPU is emulated and slower than fp32.
bool CpuHasNativeBf16();

// Throws util::Error for an unknown name or "cuda" without CUDA.
ComputeDevice ResolveDevice(const std::string& device, const std::string& dtype = "auto");

// GPU placement by local rank: the slot-th process on a node that runs
// models takes visible GPU slot % visible_gpus (so N ranks on N GPUs get one
// each; more ranks than GPUs share them round-robin).
int GpuForLocalSlot(int slot, int visible_gpus);
// Records this process's slot (before any ResolveDevice). Returns the CUDA
// ordinal "cuda" will mean, or -1 when no GPU is visible.
int SetLocalGpuSlot(int slot);

// Sets the CPU thread pools for models of `dtype` (see above). threads <= 0
// means all cores. Returns the count used.
int ConfigureCpuThreads(int threads, c10::ScalarType dtype = c10::kFloat);

}  // namespace prlm::model
