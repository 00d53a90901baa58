#include "options/compute_options.h"

namespace prlm::options {

void AddComputeOptions(Args& args) {
  args.Option("device", "auto|cpu|cuda", "auto", "where the model runs")
      .Option("dtype", "auto|fp32|bf16", "auto", "weights and activations (auto: bf16 on cuda, fp32 on cpu)")
      .Option("threads", "N", "0", "CPU threads (0 = all cores)");
}

model::ComputeDevice SetUpCompute(const Args& args) {
  model::ComputeDevice where = model::ResolveDevice(args.Get("device"), args.Get("dtype"));
  where.cpu_threads = model::ConfigureCpuThreads(args.GetInt("threads"), where.dtype);
  return where;
}

}  // namespace prlm::options
