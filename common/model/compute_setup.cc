#include "common/model/compute_setup.h"

#include <dlfcn.h>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <algorithm>
#include <thread>

#include "common/util/check.h"

namespace prlm {

ComputeDevice ResolveDevice(const std::string& device, const std::string& dtype) {
  ComputeDevice out;
  const bool cuda = torch::cuda::is_available();
  if (device == "cuda" || (device == "auto" && cuda)) {
    PRLM_REQUIRE(cuda, "--device cuda: no CUDA device is visible to this build of prlm "
                       "(Debian's libtorch is CPU-only; build against a CUDA libtorch)");
    out.device = torch::Device(torch::kCUDA, 0);
  } else {
    PRLM_REQUIRE(device == "cpu" || device == "auto",
                 "unknown device '" << device << "' (expected auto, cpu or cuda)");
  }
  if (dtype == "bf16" || (dtype == "auto" && out.device.is_cuda())) out.dtype = torch::kBFloat16;
  else PRLM_REQUIRE(dtype == "fp32" || dtype == "auto",
                    "unknown dtype '" << dtype << "' (expected auto, fp32 or bf16)");
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

}  // namespace prlm
