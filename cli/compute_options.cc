#include "cli/compute_options.h"

namespace prlm::cli {

void AddComputeOptions(Args& args) {
  args.Option("device", "auto|cpu|cuda", "auto", "where the model runs")
      .Option("dtype", "auto|fp32|bf16", "auto", "weights and activations (auto: bf16 on cuda, fp32 on cpu)")
      .Option("threads", "N", "0", "CPU threads (0 = all cores)");
}

ComputeDevice SetUpCompute(const Args& args) {
  ComputeDevice where = ResolveDevice(args.Get("device"), args.Get("dtype"));
  where.cpu_threads = ConfigureCpuThreads(args.GetInt("threads"), where.dtype);
  return where;
}

}  // namespace prlm::cli
