// prlm bench: speed measurements whose figures go into reports, never into
// test assertions. Each prints one JSON object per measurement.
//   bench tokenizer: encode throughput (MB/s) of a tokenizer.json over a file.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "bench/bench_model.h"
#include "options/args.h"
#include "bench/bench.h"
#include "options/compute_options.h"
#include "common/model/pretrained.h"
#include "common/text/tokenizer.h"
#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::bench {
namespace {

using Clock = std::chrono::steady_clock;

int BenchTokenizer(int argc, char** argv) {
  options::Args args("bench tokenizer",
                     "Encode every line of a file and report MB/s (input bytes per second), best of\n"
                     "--repeat runs. The word cache is warm after the first run, as in a long job.");
  args.Option("tokenizer", "FILE", "", "tokenizer.json", true)
      .Option("input", "FILE", "", "text file, one input per line", true)
      .Option("repeat", "N", "3", "runs; the best is reported");
  if (!args.Parse(argc, argv)) return 0;
  const auto tok = text::Tokenizer::FromFile(args.Get("tokenizer"));
  const std::string data = util::ReadFile(args.Get("input"));
  std::vector<std::string_view> lines;
  for (size_t start = 0; start < data.size();) {
    size_t end = data.find('\n', start);
    if (end == std::string::npos) end = data.size();
    lines.emplace_back(data.data() + start, end - start);
    start = end + 1;
  }
  double best = 1e30;
  size_t tokens = 0;
  for (int r = 0; r < args.GetInt("repeat"); ++r) {
    const auto t0 = Clock::now();
    tokens = 0;
    for (auto line : lines) tokens += tok->Encode(line).size();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  const nlohmann::json j = {{"bench", "tokenizer"},
                            {"impl", "prlm"},
                            {"tokenizer", args.Get("tokenizer")},
                            {"bytes", data.size()},
                            {"lines", lines.size()},
                            {"tokens", tokens},
                            {"seconds", best},
                            {"mb_per_s", data.size() / best / 1e6}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

}  // namespace

int RunBench(int argc, char** argv) {
  const std::string usage =
      "usage: prlm bench tokenizer|generate|flops|shared-prompt|retrieval|reward|lore|weight-sync|relay|scale "
      "[options]\n"
      "  tokenizer   encode throughput (MB/s) of a tokenizer.json over a text file\n"
      "  generate    the generation engine vs the fixed-batch generator: prefill/decode/end-to-end tokens/s, KV "
      "memory\n"
      "  flops       the learner's forward+backward FLOP/s against the measured matmul peak, fp32 and bf16\n"
      "  shared-prompt the learner's forward+backward of GRPO groups: whole rows vs each prompt scored once\n"
      "  retrieval   one shard over loopback vs FAISS in-process: q/s, p50/p99, HNSW recall\n"
      "  reward      the reward server with batching vs max_batch_size=1: sequences/s, p50/p99\n"
      "  lore        LoRe scoring vs the BT model, AdaptUser latency under load, table memory\n"
      "  weight-sync (under mpirun) bucketed weight broadcast vs a raw MPI_Bcast of the same bytes\n"
      "  relay       the elastic tier's weight relay chain vs every worker fetching from learner 0\n"
      "  scale       the job at 8..64 ranks with model compute simulated: step time vs ideal, rank 0's cost\n"
      "`prlm bench <what> --help` lists the options.\n";
  if (argc < 1 || std::string(argv[0]) == "--help" || std::string(argv[0]) == "-h") {
    std::fputs(usage.c_str(), argc < 1 ? stderr : stdout);
    return argc < 1 ? 2 : 0;
  }
  const std::string what = argv[0];
  if (what == "tokenizer") return BenchTokenizer(argc - 1, argv + 1);
  if (what == "generate") return BenchGenerate(argc - 1, argv + 1);
  if (what == "flops") return BenchFlops(argc - 1, argv + 1);
  if (what == "shared-prompt") return BenchSharedPrompt(argc - 1, argv + 1);
  if (what == "retrieval") return BenchRetrieval(argc - 1, argv + 1);
  if (what == "reward") return BenchReward(argc - 1, argv + 1);
  if (what == "lore") return BenchLore(argc - 1, argv + 1);
  if (what == "weight-sync") return BenchWeightSync(argc - 1, argv + 1);
  if (what == "relay") return BenchRelay(argc - 1, argv + 1);
  if (what == "scale") return BenchScale(argc - 1, argv + 1);
  PRLM_THROW("unknown benchmark '" << what << "'\n" << usage);
}

}  // namespace prlm::bench
