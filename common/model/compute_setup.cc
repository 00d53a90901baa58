#include "common/model/compute_setup.h"

#include <dlfcn.h>

#include <ATen/Parallel.h>
#include <torch/types.h>
#include <torch/cuda.h>

#include <algorithm>
#include <thread>

#include "common/util/check.h"

namespace prlm::model {

namespace {
int g_local_gpu = 0;  // the CUDA ordinal "cuda" means in this process
}  // namespace

int GpuForLocalSlot(int slot, int visible_gpus) {
  PRLM_CHECK(slot >= 0);
  return visible_gpus > 0 ? slot % visible_gpus : -1;
}

int SetLocalGpuSlot(int slot) {
  const int gpu =
      GpuForLocalSlot(slot, torch::cuda::is_available() ? static_cast<int>(torch::cuda::device_count()) : 0);
  g_local_gpu = std::max(gpu, 0);
  return gpu;
}

bool CpuHasNativeBf16() {
#if defined(__x86_64__) && defined(__GNUC__)
  return __builtin_cpu_supports("avx512bf16") || __builtin_cpu_supports("amx-bf16");
#else
  return false;
#endif
}

ComputeDevice ResolveDevice(const std::string& device, const std::string& dtype) {
  ComputeDevice out;
  const bool cuda = torch::cuda::is_available();
  if (device == "cuda" || (device == "auto" && cuda)) {
    PRLM_REQUIRE(cuda,
                 "--device cuda: no CUDA device is visible to this build of prlm "
                 "(Debian's libtorch is CPU-only; build against a CUDA libtorch)");
    out.device = torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(g_local_gpu));
  } else if (device.rfind("cuda:", 0) == 0) {
    PRLM_REQUIRE(cuda, "--device " << device << ": no CUDA device is visible to this build of prlm");
    int index = -1;
    try {
      index = std::stoi(device.substr(5));
    } catch (const std::exception&) {
    }
    PRLM_REQUIRE(index >= 0 && index < static_cast<int>(torch::cuda::device_count()),
                 "--device " << device << ": " << torch::cuda::device_count() << " CUDA devices are visible");
    out.device = torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(index));
  } else {
    PRLM_REQUIRE(device == "cpu" || device == "auto",
                 "unknown device '" << device << "' (expected auto, cpu, cuda or cuda:N)");
  }
  if (dtype == "bf16" || (dtype == "auto" && out.device.is_cuda()))
    out.dtype = torch::kBFloat16;
  else
    PRLM_REQUIRE(dtype == "fp32" || dtype == "auto", "unknown dtype '" << dtype << "' (expected auto, fp32 or bf16)");
  return out;
}

int ConfigureCpuThreads(int threads, torch::ScalarType dtype) {
  const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // OpenBLAS is found at run time: libblas.so.3 may be another BLAS.
  using SetThreads = void (*)(int);
  auto set_blas_threads = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"));
  const bool blas_does_matmul = set_blas_threads && dtype == torch::kFloat;
  if (set_blas_threads) set_blas_threads(blas_does_matmul ? n : 1);
  at::set_num_threads(blas_does_matmul ? 1 : n);
  return n;
}

}  // namespace prlm::model
