// prlm_gpu_checks: the decoder on a device, against transformers' numbers.
//
//   parity   --fixtures DIR --names a,b --device D --dtype fp32|bf16 --tol T
//            [--ratio R]
//            Loads each fixture model (tests/fixtures/NAME) on the device in
//            the dtype, runs the inputs of its expected.safetensors, and
//            prints one JSON line per fixture with the max |logit difference|
//            from transformers' fp32 logits over the real positions. The
//            bound is --tol; in bf16 with --ratio R > 0 it is R times the
//            difference of transformers' own bf16 run (logits_bf16) where
//            the fixture has one. Exits 1 when any difference exceeds it.
//   generate --model DIR --prompts FILE|- --batch B --prompt-len P
//            --new-tokens N --device D --dtype D --repeats R
//            Greedy decoding of B prompts (FILE: {"prompts": [[ids...]...]},
//            as tests/gpu/transformers_gpu.py writes them for its own run;
//            "-": seeded random ids) for exactly N new tokens (no stop
//            token), once to warm up and R times timed; prints tokens/s
//            (B x N / wall seconds, the median run) and the first row's
//            tokens, so a side-by-side run with transformers' generate()
//            can compare both.
//
// Run by tests/gpu/run.sh on the GPU machine, and on CPU by ctest.
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <nlohmann/json.hpp>
#include <random>

#include "common/model/compute_setup.h"
#include "common/generation/generate.h"
#include "common/model/pretrained.h"
#include "common/model/safetensors.h"
#include "common/model/weights_io.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "tests/gpu/check_flags.h"

namespace prlm::gpu_checks {
namespace {

void Synchronize(const torch::Device& device) {
  if (device.is_cuda()) torch::cuda::synchronize(device.index());
}

int Parity(const CheckFlags& flags) {
  const model::ComputeDevice where = model::ResolveDevice(flags.Str("device"), flags.Str("dtype"));
  const double tol = flags.Double("tol");
  bool ok = true;
  torch::NoGradGuard no_grad;
  for (const std::string& name : flags.List("names")) {
    const std::string dir = flags.Str("fixtures") + "/" + name;
    const model::SafetensorsFile expected(dir + "/expected.safetensors");
    auto get = [&](const char* key) { return model::ReadTensor(expected, expected.Info(key)); };
    const torch::Tensor ids = get("input_ids"), mask = get("attention_mask"), want = get("logits");
    const torch::Tensor positions = expected.Has("position_ids") ? get("position_ids") : model::PositionsFromMask(mask);
    auto m = model::LoadCausalLM(dir, where.device, where.dtype);
    const int64_t T = ids.size(1);
    const torch::Tensor bias = model::AttentionBias(mask.to(where.device), 0, T, where.dtype);
    const torch::Tensor got =
        m->Logits(m->Forward(ids.to(where.device), positions.to(where.device), bias, nullptr)).to(torch::kFloat).cpu();
    const torch::Tensor real = mask.to(torch::kBool).unsqueeze(-1).expand_as(got);
    auto max_diff = [&](const torch::Tensor& a) { return (a - want).abs().masked_select(real).max().item<double>(); };
    const double diff = max_diff(got);
    // In bf16 the yardstick is transformers' own bf16 run of the same inputs
    // (logits_bf16, where the fixture has it): how far rounding alone moves it.
    double bound = tol;
    nlohmann::json line = {
        {"check", "parity"},           {"fixture", name},      {"device", where.device.str()},
        {"dtype", flags.Str("dtype")}, {"max_abs_diff", diff}, {"max_abs_logit", want.abs().max().item<double>()}};
    if (where.dtype == torch::kBFloat16 && flags.Double("ratio") > 0 && expected.Has("logits_bf16")) {
      const double transformers_bf16 = max_diff(get("logits_bf16"));
      bound = flags.Double("ratio") * transformers_bf16;
      line["transformers_bf16_max_abs_diff"] = transformers_bf16;
    }
    const bool pass = std::isfinite(diff) && diff <= bound;
    ok = ok && pass;
    line["bound"] = bound;
    line["pass"] = pass;
    std::cout << line.dump() << std::endl;
  }
  return ok ? 0 : 1;
}

std::vector<std::vector<int32_t>> Prompts(const CheckFlags& flags, int64_t vocab) {
  const int batch = flags.Int("batch"), length = flags.Int("prompt-len");
  PRLM_REQUIRE(batch > 0 && length > 0, "--batch and --prompt-len must be positive");
  std::vector<std::vector<int32_t>> prompts;
  if (flags.Str("prompts") != "-") {
    const auto j = nlohmann::json::parse(util::ReadFile(flags.Str("prompts")));
    PRLM_REQUIRE(j.contains("prompts") && j["prompts"].is_array(), flags.Str("prompts")
                                                                       << ": wants {\"prompts\": [[ids...], ...]}");
    for (const auto& p : j["prompts"]) prompts.push_back(p.get<std::vector<int32_t>>());
    PRLM_REQUIRE(static_cast<int>(prompts.size()) >= batch,
                 flags.Str("prompts") << " has " << prompts.size() << " prompts, --batch wants " << batch);
    prompts.resize(batch);
    return prompts;
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<int32_t> token(5, static_cast<int32_t>(vocab) - 1);
  for (int b = 0; b < batch; ++b) {
    prompts.emplace_back(length);
    for (auto& t : prompts.back()) t = token(rng);
  }
  return prompts;
}

int GenerateBench(const CheckFlags& flags) {
  const model::ComputeDevice where = model::ResolveDevice(flags.Str("device"), flags.Str("dtype"));
  if (where.device.is_cpu()) model::ConfigureCpuThreads(0, where.dtype);
  auto m = model::LoadCausalLM(flags.Str("model"), where.device, where.dtype);
  m->eval();
  const auto prompts = Prompts(flags, m->config().vocab_size);
  std::vector<generation::GenerationRequest> requests;
  for (const auto& p : prompts) requests.push_back({p, {1}});
  generation::SamplingParams params;
  params.greedy = true;
  params.max_new_tokens = flags.Int("new-tokens");
  PRLM_REQUIRE(params.max_new_tokens > 0, "--new-tokens must be positive");

  torch::NoGradGuard no_grad;
  {  // Warm-up: kernels chosen, allocator grown.
    generation::SamplingParams warm = params;
    warm.max_new_tokens = std::min(8, params.max_new_tokens);
    generation::Generate(m, requests, warm);
    Synchronize(where.device);
  }
  std::vector<double> seconds;
  std::vector<int32_t> first_row;
  generation::GenerationStats stats;
  for (int r = 0; r < flags.Int("repeats"); ++r) {
    const auto start = std::chrono::steady_clock::now();
    const auto out = generation::Generate(m, requests, params, &stats);
    Synchronize(where.device);
    seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    for (const auto& sample : out) PRLM_CHECK(static_cast<int>(sample[0].tokens.size()) == params.max_new_tokens);
    first_row = out[0][0].tokens;
  }
  PRLM_REQUIRE(!seconds.empty(), "--repeats must be positive");
  std::sort(seconds.begin(), seconds.end());
  const double median = seconds[seconds.size() / 2];
  const double tokens = static_cast<double>(prompts.size()) * params.max_new_tokens;
  nlohmann::json line = {{"check", "generate"},
                         {"implementation", "prlm"},
                         {"device", where.device.str()},
                         {"dtype", flags.Str("dtype")},
                         {"batch", prompts.size()},
                         {"prompt_len", prompts[0].size()},
                         {"new_tokens", params.max_new_tokens},
                         {"median_seconds", median},
                         {"tokens_per_second", tokens / median},
                         {"last_run", stats.Summary()},
                         {"first_row_tokens", first_row}};
  std::cout << line.dump() << std::endl;
  return 0;
}

int Main(int argc, char** argv) {
  const std::string usage = "usage: prlm_gpu_checks parity|generate [--flag value ...] (see the file's header)";
  if (argc < 2) {
    std::cerr << usage << "\n";
    return 2;
  }
  const std::string command = argv[1];
  if (command == "parity")
    return Parity(CheckFlags(argc, argv, 2,
                             {{"fixtures", "tests/fixtures"},
                              {"names", "qwen2-tied"},
                              {"device", "cuda"},
                              {"dtype", "fp32"},
                              {"tol", "1e-4"},
                              {"ratio", "0"}}));
  if (command == "generate")
    return GenerateBench(CheckFlags(argc, argv, 2,
                                    {{"model", ""},
                                     {"prompts", "-"},
                                     {"batch", "8"},
                                     {"prompt-len", "128"},
                                     {"new-tokens", "128"},
                                     {"device", "cuda"},
                                     {"dtype", "bf16"},
                                     {"repeats", "3"}}));
  std::cerr << "unknown command '" << command << "'\n" << usage << "\n";
  return 2;
}

}  // namespace
}  // namespace prlm::gpu_checks

int main(int argc, char** argv) {
  try {
    return prlm::gpu_checks::Main(argc, argv);
  } catch (const std::exception& e) {
    std::cerr << "prlm_gpu_checks: " << e.what() << "\n";
    return 1;
  }
}
