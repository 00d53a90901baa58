// prlm bench weight-sync (under mpirun): the weight broadcast from learner 0
// to the rollout workers, as the training job does it (weights packed into
// bucket buffers, BroadcastWeights: bucketed, version-stamped), against
// two baselines over the same bytes in the same run:
//   raw      one MPI_Bcast of a ready contiguous buffer (the transport's best);
//   raw-nb   the same as one MPI_Ibcast polled with MPI_Test (the
//            non-blocking collective prlm uses, without packing);
//   per-tensor  one MPI_Bcast per parameter tensor (what bucketing avoids).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <thread>
#include <vector>

#include "options/args.h"
#include "bench/bench.h"
#include "common/comm/mpi_job.h"
#include "common/comm/tensor_collectives.h"
#include "common/model/pretrained.h"
#include "common/util/check.h"

namespace prlm::bench {
namespace {

using Clock = std::chrono::steady_clock;

double Median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

template <typename Fn>
double TimeIt(Fn fn) {
  MPI_Barrier(MPI_COMM_WORLD);
  const auto t0 = Clock::now();
  fn();
  MPI_Barrier(MPI_COMM_WORLD);
  return std::chrono::duration<double>(Clock::now() - t0).count();
}

}  // namespace

int BenchWeightSync(int argc, char** argv) {
  options::Args args(
      "bench weight-sync",
      "Run under mpirun: rank 0 broadcasts a decoder preset's weights to every other rank, as the training\n"
      "job's weight sync does, beside a raw MPI_Bcast of the same bytes and one MPI_Bcast per tensor.");
  args.Option("preset", "NAME", "small", "tiny or small (DecoderPreset)")
      .Option("vocab-size", "N", "32768", "vocabulary (the embedding is the largest tensor)")
      .Option("layers", "N", "0", "override the preset's layer count (0: keep)")
      .Option("bucket-mb", "N", "32", "bucket size of the bucketed broadcast")
      .Option("repeats", "N", "10", "timed repetitions (the median is reported)");
  if (!args.Parse(argc, argv)) return 0;
  comm::MpiJob mpi(&argc, &argv);
  PRLM_REQUIRE(mpi.size() >= 2, "bench weight-sync: start it with mpirun -np 2 or more");
  auto cfg = model::DecoderPreset(args.Get("preset"), args.GetInt("vocab-size"));
  if (args.GetInt("layers") > 0) cfg.num_hidden_layers = args.GetInt("layers");
  model::CausalLM policy(cfg);
  std::vector<torch::Tensor> weights = policy->parameters();
  comm::PackIntoBuckets(weights, /*with_grads=*/false, static_cast<size_t>(args.GetInt("bucket-mb")) << 20);
  size_t bytes = 0;
  for (const auto& w : weights) bytes += static_cast<size_t>(w.numel()) * w.element_size();
  comm::TensorCollectives sync(MPI_COMM_WORLD, "weight sync", static_cast<size_t>(args.GetInt("bucket-mb")) << 20);
  auto flat = torch::zeros({static_cast<int64_t>(bytes / 4)}, torch::kFloat);
  const int repeats = std::max(1, args.GetInt("repeats"));
  std::vector<double> bucketed, raw, raw_nb, per_tensor;
  for (int r = 0; r < repeats + 1; ++r) {  // the first round warms up
    int64_t version = r;
    const double b = TimeIt([&] { comm::BroadcastWeights(sync, &version, weights, std::chrono::minutes(5)); });
    const double w =
        TimeIt([&] { MPI_Bcast(flat.data_ptr(), static_cast<int>(flat.numel()), MPI_FLOAT, 0, MPI_COMM_WORLD); });
    const double nb = TimeIt([&] {  // the non-blocking collective itself, polled the way prlm polls
      MPI_Request request;
      MPI_Ibcast(flat.data_ptr(), static_cast<int>(flat.numel()), MPI_FLOAT, 0, MPI_COMM_WORLD, &request);
      int done = 0;
      while (!done) {
        MPI_Test(&request, &done, MPI_STATUS_IGNORE);
        if (!done) std::this_thread::yield();
      }
    });
    const double t = TimeIt([&] {
      for (auto& p : weights) MPI_Bcast(p.data_ptr(), static_cast<int>(p.numel()), MPI_FLOAT, 0, MPI_COMM_WORLD);
    });
    if (r == 0) continue;
    bucketed.push_back(b), raw.push_back(w), raw_nb.push_back(nb), per_tensor.push_back(t);
  }
  if (mpi.rank() == 0) {
    const double gb = static_cast<double>(bytes) / 1e9;
    const double mb = Median(bucketed), mr = Median(raw), mt = Median(per_tensor);
    std::printf("weight sync of %s (%zu tensors, %.1f MB) from rank 0 to %d ranks, median of %d:\n",
                args.Get("preset").c_str(), weights.size(), static_cast<double>(bytes) / 1e6, mpi.size() - 1, repeats);
    std::printf("  bucketed (prlm, %zu buckets): %8.2f ms  %6.2f GB/s\n", sync.last_buckets(), mb * 1e3, gb / mb);
    std::printf("  raw MPI_Bcast, one buffer:    %8.2f ms  %6.2f GB/s\n", mr * 1e3, gb / mr);
    std::printf("  raw MPI_Ibcast, one buffer:   %8.2f ms  %6.2f GB/s\n", Median(raw_nb) * 1e3, gb / Median(raw_nb));
    std::printf("  MPI_Bcast per tensor:         %8.2f ms  %6.2f GB/s\n", mt * 1e3, gb / mt);
    std::printf("  bucketed / raw throughput: %.2fx; bucketed / per-tensor: %.2fx\n", mr / mb, mt / mb);
  }
  return 0;
}

}  // namespace prlm::bench
