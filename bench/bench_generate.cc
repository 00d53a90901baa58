// prlm bench generate: the generation engine (continuous batching, paged KV
// cache) beside the fixed-batch generator it replaced, on the same model,
// prompts and seeds, alternating rounds in one process. Reports per
// implementation and batch size: prefill, decode and end-to-end tokens/s and
// the KV cache bytes each sample held. bench/torch_eager.py runs the same
// workload in an eager PyTorch loop (bench/run.sh puts them side by side).
//
// Workloads: --lengths uniform (every sample runs --new-tokens; no early
// stop) or long-tail (80% of samples stop after 20-40 tokens, 20% run the
// full --new-tokens: the shape of reasoning rollouts, where a fixed batch
// waits for its longest row).
#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>
#include <random>
#include <sstream>

#include "bench/bench.h"
#include "bench/bench_model.h"
#include "common/generation/fixed_batch.h"
#include "common/generation/generate.h"
#include "common/model/pretrained.h"
#include "common/util/check.h"
#include "common/util/clock.h"

namespace prlm::bench {
namespace {

struct Workload {
  std::vector<generation::GenerationRequest> requests;
  int64_t samples = 0, prompt_tokens = 0, new_tokens = 0;
};

// `batch` samples in groups of `group` per prompt; lengths as documented above.
Workload MakeWorkload(int batch, int group, int prompt_len, int new_tokens, bool long_tail, int64_t vocab,
                      uint64_t seed) {
  Workload w;
  std::mt19937_64 rng(seed);
  for (int b = 0; b < batch / group; ++b) {
    generation::GenerationRequest r;
    for (int t = 0; t < prompt_len; ++t) r.prompt.push_back(1 + static_cast<int32_t>(rng() % (vocab - 1)));
    for (int g = 0; g < group; ++g) r.sample_seeds.push_back(generation::SampleSeed(seed, b, g));
    r.max_new_tokens = !long_tail || rng() % 5 == 0 ? new_tokens : 20 + static_cast<int>(rng() % 21);
    w.samples += group;
    w.prompt_tokens += prompt_len;
    w.new_tokens += static_cast<int64_t>(group) * std::min(r.max_new_tokens, new_tokens);
    w.requests.push_back(std::move(r));
  }
  return w;
}

struct Measured {
  double prefill_tok_s = 0, decode_tok_s = 0, e2e_tok_s = 0;
  int64_t kv_bytes_per_sample = 0;
  int64_t preemptions = 0;
};

// `in_flight` > 0: at most that many samples at once; the engine refills
// its slots as samples finish, the fixed batch runs the prompts in
// consecutive batches of that many samples (as the rollout did).
Measured RunOnce(model::CausalLM& m, const Workload& w, const generation::SamplingParams& p, bool engine,
                 int64_t kv_cache_tokens, int64_t in_flight) {
  Measured out;
  const auto& c = m->config();
  const int64_t bytes_per_token =
      2 * c.num_hidden_layers * c.num_key_value_heads * c.head_dim() * m->model->embed_tokens->weight.element_size();
  generation::GenerationStats s;
  const auto t0 = util::Clock::now();
  if (engine) {
    const auto options = generation::OptionsFor(w.requests, p, kv_cache_tokens, in_flight);
    generation::Engine e(m, p, options);
    for (const auto& r : w.requests) e.Submit(r);
    e.RunUntilIdle([](generation::FinishedSample&&) {});
    const auto& es = e.stats();
    es.AddTo(&s);
    out.kv_bytes_per_sample = es.peak_blocks_used * options.block_size * bytes_per_token / w.samples;
    out.preemptions = es.preemptions;
  } else {
    const size_t per_batch = in_flight > 0 ? std::max<size_t>(1, in_flight / w.requests[0].sample_seeds.size())
                                           : w.requests.size();
    for (size_t b = 0; b < w.requests.size(); b += per_batch) {
      const std::vector<generation::GenerationRequest> part(
          w.requests.begin() + b, w.requests.begin() + std::min(w.requests.size(), b + per_batch));
      generation::GenerateFixedBatch(m, part, p, &s);
    }
    int64_t longest = 0, prompt = 0;
    for (const auto& r : w.requests) {
      longest = std::max<int64_t>(longest, r.max_new_tokens);
      prompt = std::max<int64_t>(prompt, static_cast<int64_t>(r.prompt.size()));
    }
    out.kv_bytes_per_sample = (prompt + longest) * bytes_per_token;  // every row holds the padded length
  }
  const double wall = util::Seconds(t0);
  out.prefill_tok_s = s.prefill_tokens / std::max(s.prefill_seconds, 1e-9);
  out.decode_tok_s = s.decode_tokens / std::max(s.decode_seconds, 1e-9);
  out.e2e_tok_s = w.new_tokens / wall;
  return out;
}

}  // namespace

int BenchGenerate(int argc, char** argv) {
  options::Args args("bench generate",
                     "The generation engine beside the fixed-batch generator: random prompts of --prompt-len\n"
                     "tokens, --group samples each, temperature 0.7, no stop tokens; --batch counts samples.\n"
                     "Rounds alternate between the implementations; the best round of each is reported.\n"
                     "Without --model a model of --preset is initialised.");
  AddModelOptions(args);
  args.Option("impl", "LIST", "engine,fixed", "implementations: engine, fixed (the fixed-batch generator)")
      .Option("batch", "LIST", "1,8,32", "samples per run, comma-separated")
      .Option("group", "G", "1", "samples per prompt (the prompt is prefilled once for its G samples)")
      .Option("prompt-len", "N", "64", "prompt tokens")
      .Option("new-tokens", "N", "64", "tokens per sample (the long samples' length under long-tail)")
      .Option("lengths", "uniform|long-tail", "uniform", "sample lengths (long-tail: 80% stop at 20-40 tokens)")
      .Option("kv-cache-tokens", "N", "0", "the engine's KV pool in positions (0: room for every sample in flight)")
      .Option("in-flight", "N", "0",
              "samples at once (0: all): the engine refills freed slots, the fixed batch runs batches of N")
      .Option("repeat", "N", "2", "rounds; the best is reported");
  if (!args.Parse(argc, argv)) return 0;
  const auto [dir, where] = SetUpModel(args);
  auto m = model::LoadCausalLM(dir, where.device, where.dtype);
  const int prompt_len = args.GetInt("prompt-len"), new_tokens = args.GetInt("new-tokens");
  const int group = args.GetInt("group");
  const std::string lengths = args.Get("lengths");
  PRLM_REQUIRE(lengths == "uniform" || lengths == "long-tail", "--lengths: uniform or long-tail, got " << lengths);
  std::vector<std::string> impls;
  {
    std::stringstream list(args.Get("impl"));
    for (std::string i; std::getline(list, i, ',');) {
      PRLM_REQUIRE(i == "engine" || i == "fixed", "--impl: engine or fixed, got '" << i << "'");
      impls.push_back(i);
    }
  }
  generation::SamplingParams p;
  p.max_new_tokens = new_tokens;
  p.temperature = 0.7;
  {  // Warm-up, untimed: first-call costs (page faults, kernel selection).
    const auto w = MakeWorkload(group, group, 8, 4, false, m->config().vocab_size, 99);
    for (const auto& impl : impls) RunOnce(m, w, p, impl == "engine", 0, 0);
  }
  for (int batch : args.GetPositiveInts("batch")) {
    PRLM_REQUIRE(batch % group == 0, "--batch " << batch << " is not a multiple of --group " << group);
    std::map<std::string, Measured> best;
    for (int r = 0; r < args.GetInt("repeat"); ++r) {
      const auto w = MakeWorkload(batch, group, prompt_len, new_tokens, lengths == "long-tail",
                                  m->config().vocab_size, static_cast<uint64_t>(r));
      for (size_t k = 0; k < impls.size(); ++k) {
        const auto& impl = impls[(k + r) % impls.size()];  // alternate which goes first
        const auto got =
            RunOnce(m, w, p, impl == "engine", args.GetInt64("kv-cache-tokens"), args.GetInt64("in-flight"));
        auto& b = best[impl];
        b.prefill_tok_s = std::max(b.prefill_tok_s, got.prefill_tok_s);
        b.decode_tok_s = std::max(b.decode_tok_s, got.decode_tok_s);
        b.e2e_tok_s = std::max(b.e2e_tok_s, got.e2e_tok_s);
        b.kv_bytes_per_sample = got.kv_bytes_per_sample;
        b.preemptions = got.preemptions;
      }
    }
    for (const auto& impl : impls) {
      const auto& b = best[impl];
      const nlohmann::json j = {{"bench", "generate"},
                                {"impl", impl == "engine" ? "prlm-engine" : "prlm-fixed-batch"},
                                {"model", dir},
                                {"params_m", model::CountParameters(*m) / 1e6},
                                {"batch", batch},
                                {"group", group},
                                {"prompt_len", prompt_len},
                                {"new_tokens", new_tokens},
                                {"lengths", lengths},
                                {"in_flight", args.GetInt64("in-flight")},
                                {"threads", where.cpu_threads},
                                {"device", where.device.str()},
                                {"dtype", where.dtype == torch::kBFloat16 ? "bf16" : "fp32"},
                                {"prefill_tok_s", b.prefill_tok_s},
                                {"decode_tok_s", b.decode_tok_s},
                                {"e2e_tok_s", b.e2e_tok_s},
                                {"kv_bytes_per_sample", b.kv_bytes_per_sample},
                                {"preemptions", b.preemptions}};
      std::printf("%s\n", j.dump().c_str());
      std::fflush(stdout);
    }
  }
  return 0;
}

}  // namespace prlm::bench
