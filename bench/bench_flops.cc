// prlm bench flops: how close the learner's forward and backward come to this
// machine's matrix-multiply peak, in fp32 and in bf16.
//
//   1. The peak: torch::mm of square matrices (--gemm sizes), best of
//      --repeat, FLOP/s = 2 n^3 / t, per dtype.
//   2. The learner's work: TokenLogprobs (what the learner runs on each
//      micro-batch) on --batch random sequences of --seq tokens, a mean
//      log-prob loss, backward; forward and backward timed apart, best of
//      --repeat. The model's FLOPs are counted from its shape: every
//      projection, the MLP and the LM head (2 FLOPs per multiply-add) plus
//      attention's two T x T products (computed whole: masking does not skip
//      them); backward is counted as twice forward.
// The learner is measured three ways: fp32; bf16 weights throughout; and
// mixed precision as `train model.dtype=bf16` runs it (fp32 weights, the
// forward's matrix products in bf16 under autocast, learner/autocast.h).
// Each figure is printed as one JSON object; the learner's FLOP/s also as a
// fraction of the same dtype's measured peak (`of_peak`, which is also the
// share of its time the model's matrix products would need at that peak: the
// rest goes to what is not a large matrix product -- softmax over the T x T
// scores, norms, rotary, elementwise ops, allocation -- and to products too
// small to reach the peak).
#include <nlohmann/json.hpp>

#include <chrono>
#include <map>
#include <cstdio>

#include "bench/bench_model.h"
#include "options/args.h"
#include "bench/bench.h"
#include "options/compute_options.h"
#include "common/model/logprobs.h"
#include "common/model/pretrained.h"
#include "common/util/check.h"
#include "common/util/clock.h"
#include "learner/autocast.h"

namespace prlm::bench {
namespace {

const char* NameOf(torch::ScalarType t) { return t == torch::kBFloat16 ? "bf16" : "fp32"; }

// How the learner's work is run: the weights' dtype and the matrix products'.
struct Precision {
  const char* name;
  torch::ScalarType weights, products;
};

// Forward FLOPs of `batch` sequences of `seq` tokens.
double ForwardFlops(const model::DecoderConfig& c, int64_t batch, int64_t seq) {
  const double d = static_cast<double>(c.hidden_size), ff = static_cast<double>(c.intermediate_size);
  const double q = static_cast<double>(c.num_attention_heads * c.head_dim());
  const double kv = static_cast<double>(c.num_key_value_heads * c.head_dim());
  const double L = static_cast<double>(c.num_hidden_layers), V = static_cast<double>(c.vocab_size);
  const double tokens = static_cast<double>(batch * seq);
  const double per_token = 2 * (L * (d * (q + 2 * kv) + q * d + 3 * d * ff) + d * V);
  const double attention = L * static_cast<double>(batch) * 2 * 2 * static_cast<double>(seq) * seq * q;
  return tokens * per_token + attention;
}

}  // namespace

int BenchFlops(int argc, char** argv) {
  options::Args args(
      "bench flops",
      "The learner's forward+backward FLOP/s against this machine's measured matrix-multiply peak,\n"
      "fp32 and bf16: torch::mm of square matrices, then TokenLogprobs + backward of a decoder model on\n"
      "random sequences. Without --model a model of --preset is initialised.");
  AddModelOptions(args);
  args.Option("batch", "N", "8", "sequences per micro-batch")
      .Option("seq", "N", "448", "tokens per sequence (the demo's prompt + completion)")
      .Option("gemm", "LIST", "256,512,1024,2048", "square matrix sizes for the peak")
      .Option("repeat", "N", "3", "runs per measurement; the best is reported");
  if (!args.Parse(argc, argv)) return 0;
  const auto [dir, where] = SetUpModel(args);
  const int repeat = args.GetInt("repeat"), batch = args.GetInt("batch"), seq = args.GetInt("seq");
  PRLM_REQUIRE(repeat >= 1 && batch >= 1 && seq >= 2, "--repeat and --batch must be >= 1, --seq >= 2");
  // 1. The peak per dtype.
  std::map<torch::ScalarType, double> peaks;
  for (const torch::ScalarType dtype : {torch::kFloat32, torch::kBFloat16}) {
    double& peak = peaks[dtype];
    for (const int n : args.GetPositiveInts("gemm")) {
      const auto opts = torch::TensorOptions().dtype(dtype).device(where.device);
      const auto a = torch::randn({n, n}, opts), b = torch::randn({n, n}, opts);
      torch::mm(a, b);  // warm-up: kernel selection, first-touch
      double best = 1e30;
      for (int r = 0; r < repeat; ++r) {
        const auto t0 = util::Clock::now();
        const auto c = torch::mm(a, b);
        (void)c.sum().item<float>();
        best = std::min(best, util::Seconds(t0));
      }
      const double gflops = 2.0 * n * n * n / best / 1e9;
      peak = std::max(peak, gflops);
      std::printf("%s\n", nlohmann::json{{"bench", "gemm"},
                                         {"dtype", NameOf(dtype)},
                                         {"n", n},
                                         {"threads", where.cpu_threads},
                                         {"seconds", best},
                                         {"gflops", gflops}}
                              .dump()
                              .c_str());
      std::fflush(stdout);
    }
  }
  // 2. The learner's forward and backward, in each precision.
  for (const Precision p :
       {Precision{"fp32", torch::kFloat32, torch::kFloat32}, Precision{"bf16", torch::kBFloat16, torch::kBFloat16},
        Precision{"mixed", torch::kFloat32, torch::kBFloat16}}) {
    auto m = model::LoadCausalLM(dir, where.device, p.weights);
    m->train();
    const auto& c = m->config();
    const auto ids = torch::randint(1, c.vocab_size, {batch, seq}, torch::TensorOptions().dtype(torch::kLong));
    const auto mask = torch::ones({batch, seq}, torch::kLong);
    double best_fwd = 1e30, best_bwd = 1e30;
    for (int r = 0; r < repeat + 1; ++r) {  // the first run warms up
      m->zero_grad();
      const auto t0 = util::Clock::now();
      torch::Tensor loss;
      {
        learner::AutocastGuard autocast(where.device, p.weights == p.products ? torch::kFloat32 : p.products);
        loss = -model::TokenLogprobs(m, ids.to(where.device), mask.to(where.device)).to(torch::kFloat).mean();
      }
      (void)loss.item<float>();
      const double fwd = util::Seconds(t0);
      const auto t1 = util::Clock::now();
      loss.backward();
      const double bwd = util::Seconds(t1);
      if (r > 0) best_fwd = std::min(best_fwd, fwd), best_bwd = std::min(best_bwd, bwd);
    }
    const double flops = 3 * ForwardFlops(c, batch, seq);
    const double gflops = flops / (best_fwd + best_bwd) / 1e9;
    const double peak = peaks.at(p.products);
    std::printf("%s\n", nlohmann::json{{"bench", "learner"},
                                       {"dtype", p.name},
                                       {"model", dir},
                                       {"params_m", model::CountParameters(*m) / 1e6},
                                       {"batch", batch},
                                       {"seq", seq},
                                       {"threads", where.cpu_threads},
                                       {"model_gflop", flops / 1e9},
                                       {"forward_s", best_fwd},
                                       {"backward_s", best_bwd},
                                       {"gflops", gflops},
                                       {"peak_gflops", peak},
                                       {"of_peak", gflops / peak}}
                            .dump()
                            .c_str());
    std::fflush(stdout);
  }
  return 0;
}

}  // namespace prlm::bench
