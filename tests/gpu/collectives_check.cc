// prlm_collectives_check: TensorCollectives end to end under mpirun, on the
// device the run names: NCCL when the tensors are on CUDA and the build has
// NCCL, MPI otherwise.
//
//   mpirun -np N prlm_collectives_check --device cpu|cuda --megabytes M
//
//  1. all-reduce: every rank fills fp32 and bf16 tensors (odd sizes, several
//     buckets) with small integers that depend on its rank, sums them, and
//     checks the exact sum;
//  2. weight broadcast: rank 0's seeded weights (M MiB of fp32 in
//     model-like shapes) and version replace every rank's, bit for bit;
//  3. timing: the same all-reduce and broadcast of M MiB, three times each,
//     reported by rank 0 as GB/s of payload (the median run).
// Rank 0 prints one JSON line; a failed check exits 1 on the rank that saw it.
// One GPU per rank: NCCL refuses two ranks of one communicator on the same
// GPU, so tests/gpu/run.sh runs as many ranks as there are GPUs (at most 2).
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <iostream>
#include <nlohmann/json.hpp>

#include "common/comm/mpi_job.h"
#include "common/comm/tensor_collectives.h"
#include "common/model/compute_setup.h"
#include "common/util/check.h"
#include "tests/gpu/check_flags.h"

namespace prlm::gpu_checks {
namespace {

constexpr std::chrono::seconds kTimeout(120);

// Model-like shapes adding up to about `bytes` of fp32.
std::vector<torch::Tensor> WeightsOf(size_t bytes, uint64_t seed, const torch::Device& device) {
  torch::manual_seed(seed);
  std::vector<torch::Tensor> out;
  const int64_t hidden = 1024;
  size_t total = 0;
  for (int layer = 0; total < bytes; ++layer) {
    for (const auto& shape : std::vector<std::vector<int64_t>>{{hidden, hidden}, {3 * hidden, hidden}, {hidden}}) {
      out.push_back(torch::randn(shape, torch::TensorOptions().device(device)));
      total += out.back().numel() * sizeof(float);
    }
  }
  return out;
}

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

int Main(int argc, char** argv) {
  comm::MpiJob job(&argc, &argv);
  const CheckFlags flags(argc, argv, 1, {{"device", "cuda"}, {"megabytes", "256"}});
  model::SetLocalGpuSlot(job.local_rank());
  const model::ComputeDevice where = model::ResolveDevice(flags.Str("device"), "fp32");
  const torch::Device device = where.device;
  const size_t bytes = static_cast<size_t>(flags.Int("megabytes")) << 20;
  comm::TensorCollectives group(MPI_COMM_WORLD, "check", size_t{4} << 20);
  const int rank = job.rank(), size = job.size();
  auto on = torch::TensorOptions().device(device);
  bool ok = true;
  auto fail = [&](const std::string& what) {
    std::cerr << "rank " << rank << ": " << what << "\n";
    ok = false;
  };

  // 1. All-reduce of small integers: exact in fp32 and bf16.
  std::vector<torch::Tensor> sums;
  for (const int64_t n : {int64_t{3}, int64_t{1} << 20, int64_t{1} << 21, int64_t{4099}})
    for (const auto dtype : {torch::kFloat, torch::kBFloat16})
      sums.push_back(torch::arange(n, on.dtype(torch::kFloat)).remainder(7).add(rank + 1).to(dtype));
  group.AllReduceSum(sums, kTimeout);
  const std::string transport = group.last_transport();
  const int rank_sum = size * (size + 1) / 2;
  for (const auto& t : sums) {
    const auto want = torch::arange(t.numel(), on.dtype(torch::kFloat)).remainder(7).mul(size).add(rank_sum);
    if (!torch::equal(t.to(torch::kFloat), want))
      fail("all-reduce of " + std::string(c10::toString(t.scalar_type())) + " [" + std::to_string(t.numel()) +
           "] is not the exact sum");
  }

  // 2. Weight broadcast: rank 0's version and weights everywhere, bit for bit.
  auto weights = WeightsOf(bytes, rank == 0 ? 1 : 2 + rank, device);
  int64_t version = rank == 0 ? 42 : -1;
  comm::BroadcastWeights(group, &version, weights, kTimeout);
  const auto root_weights = WeightsOf(bytes, 1, device);
  if (version != 42) fail("broadcast version " + std::to_string(version) + ", want 42");
  for (size_t i = 0; i < weights.size(); ++i)
    if (!torch::equal(weights[i], root_weights[i])) {
      fail("broadcast weight " + std::to_string(i) + " differs from rank 0's");
      break;
    }

  // 3. Timing of both collectives on the same payload.
  auto time = [&](auto&& collective) {
    std::vector<double> seconds;
    for (int r = 0; r < 3; ++r) {
      comm::Barrier(MPI_COMM_WORLD, kTimeout);
      const auto start = std::chrono::steady_clock::now();
      collective();
      if (device.is_cuda()) torch::cuda::synchronize(device.index());
      seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return Median(seconds);
  };
  const double reduce_s = time([&] { group.AllReduceSum(weights, kTimeout); });
  const double broadcast_s = time([&] { group.Broadcast(weights, 0, kTimeout); });

  int all_ok = ok ? 1 : 0, everyone_ok = 0;
  MPI_Allreduce(&all_ok, &everyone_ok, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD);
  if (rank == 0) {
    const double gb = static_cast<double>(bytes) / 1e9;
    nlohmann::json line = {{"check", "collectives"},           {"ranks", size},
                           {"device", device.str()},           {"transport", transport},
                           {"payload_bytes", bytes},           {"buckets", group.last_buckets()},
                           {"allreduce_seconds", reduce_s},    {"allreduce_gb_per_s", gb / reduce_s},
                           {"broadcast_seconds", broadcast_s}, {"broadcast_gb_per_s", gb / broadcast_s},
                           {"pass", everyone_ok == 1}};
    std::cout << line.dump() << std::endl;
  }
  return ok ? 0 : 1;
}

}  // namespace
}  // namespace prlm::gpu_checks

int main(int argc, char** argv) {
  try {
    return prlm::gpu_checks::Main(argc, argv);
  } catch (const std::exception& e) {
    prlm::comm::AbortJob("prlm_collectives_check", e.what());
  }
}
