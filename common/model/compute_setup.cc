#include "common/model/compute_setup.h"

#include <dlfcn.h>

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <algorithm>
#include <thread>

#include "common/util/check.h"

namespace prlm {

ComputeDevice ResolveDevice(const std::string& name) {
  const bool cuda = torch::cuda::is_available();
  if (name == "cpu" || (name == "auto" && !cuda)) return {torch::kCPU, torch::kFloat};
  if (name == "cuda" || name == "auto") {
    PRLM_REQUIRE(cuda, "--device cuda: no CUDA device is visible to this build of prlm "
                       "(Debian's libtorch is CPU-only; build against a CUDA libtorch)");
    return {torch::Device(torch::kCUDA, 0), torch::kBFloat16};
  }
  PRLM_THROW("unknown device '" << name << "' (expected auto, cpu or cuda)");
}

int ConfigureCpuThreads(int threads) {
  const int n = threads > 0 ? threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  // OpenBLAS is found at run time: libblas.so.3 may be another BLAS.
  using SetThreads = void (*)(int);
  if (auto fn = reinterpret_cast<SetThreads>(dlsym(RTLD_DEFAULT, "openblas_set_num_threads"))) {
    fn(n);
    at::set_num_threads(1);
  } else {
    at::set_num_threads(n);
  }
  return n;
}

}  // namespace prlm
