// prlm bench shared-prompt: what running shared prompt tokens once saves the
// learner. A micro-batch of --groups groups, each --group samples of one
// --prompt-token prompt with --completion-token completions (random tokens;
// the first --common-tokens of every prompt the same, as a system prompt
// is), is scored with its gradient (ScoreCompletions, a loss over the
// log-probs, backward) two ways in the same run, alternating:
//   whole:  one forward over every full row (the baseline);
//   shared: the common prefix once, each distinct prompt's rest once, then
//           the completions, keys and values repeated from stage to stage
//           (learner/policy_batch.h).
// A GRPO micro-batch is one group of 8; an sft one is 8 groups of 1.
// Best of --repeat each; prints one JSON object with both times, the
// speed-up, and the largest log-prob difference between the two.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>

#include "bench/bench_model.h"
#include "options/args.h"
#include "bench/bench.h"
#include "options/compute_options.h"
#include "common/model/pretrained.h"
#include "common/util/check.h"
#include "common/util/clock.h"
#include "learner/policy_batch.h"

namespace prlm::bench {
namespace {

// Forward + backward of one micro-batch's scores; returns seconds and the log-probs.
std::pair<double, torch::Tensor> ScoreWithGradient(model::CausalLM& m, const learner::PolicyBatch& batch,
                                                   torch::ScalarType products) {
  m->zero_grad();
  const auto t0 = util::Clock::now();
  const auto scores = learner::ScoreCompletions(m, batch, 1.0, false, products);
  (scores.logprobs.sum() / batch.completion_mask.sum()).backward();
  return {util::Seconds(t0), scores.logprobs.detach()};
}

}  // namespace

int BenchSharedPrompt(int argc, char** argv) {
  options::Args args("bench shared-prompt",
                     "The learner's forward+backward of GRPO groups (samples sharing one prompt): whole rows against\n"
                     "each prompt scored once, side by side. Without --model a model of --preset is initialised.");
  AddModelOptions(args);
  args.Option("groups", "N", "1", "groups (distinct prompts) per micro-batch")
      .Option("group", "N", "8", "samples per group")
      .Option("prompt-tokens", "N", "380", "prompt length (the demo's: about 380)")
      .Option("common-tokens", "N", "0", "leading prompt tokens every group shares (a system prompt)")
      .Option("completion-tokens", "N", "60", "completion length (the demo's: about 60)")
      .Option("repeat", "N", "3", "runs of each way; the best is reported");
  if (!args.Parse(argc, argv)) return 0;
  const auto [dir, where] = SetUpModel(args);
  const int groups = args.GetInt("groups"), group = args.GetInt("group"), repeat = args.GetInt("repeat");
  const int prompt_tokens = args.GetInt("prompt-tokens"), completion_tokens = args.GetInt("completion-tokens");
  const int common_tokens = args.GetInt("common-tokens");
  PRLM_REQUIRE(groups >= 1 && group >= 1 && repeat >= 1 && prompt_tokens >= 1 && completion_tokens >= 1,
               "--groups, --group, --repeat, --prompt-tokens and --completion-tokens must be >= 1");
  PRLM_REQUIRE(common_tokens >= 0 && common_tokens <= prompt_tokens,
               "--common-tokens must lie in [0, --prompt-tokens]");
  // The learner keeps fp32 weights; --dtype bf16 runs the products in bf16 (as train model.dtype=bf16).
  auto m = model::LoadCausalLM(dir, where.device, torch::kFloat32);
  m->train();
  const int64_t vocab = m->config().vocab_size;

  // 1. The micro-batch: random prompts, each shared by `group` random completions.
  proto::MicroBatch mb;
  const auto random_tokens = [&](int n) {
    return torch::randint(1, vocab, {n}, torch::TensorOptions().dtype(torch::kInt));
  };
  const auto common = random_tokens(prompt_tokens);
  for (int g = 0; g < groups; ++g) {
    auto prompt = random_tokens(prompt_tokens);
    prompt.narrow(0, 0, common_tokens).copy_(common.narrow(0, 0, common_tokens));
    for (int s = 0; s < group; ++s) {
      auto* seq = mb.add_sequences();
      seq->mutable_prompt()->Add(prompt.data_ptr<int32_t>(), prompt.data_ptr<int32_t>() + prompt_tokens);
      const auto completion = random_tokens(completion_tokens);
      seq->mutable_completion()->Add(completion.data_ptr<int32_t>(),
                                     completion.data_ptr<int32_t>() + completion_tokens);
    }
  }
  const auto shared = learner::MakePolicyBatch(mb, where.device);
  const auto whole = learner::WholeRows(shared);

  // 2. Both ways, alternating (the first of each warms up).
  double best_whole = 1e30, best_shared = 1e30, max_diff = 0;
  for (int r = 0; r < repeat + 1; ++r) {
    const auto [t_whole, lp_whole] = ScoreWithGradient(m, whole, where.dtype);
    const auto [t_shared, lp_shared] = ScoreWithGradient(m, shared, where.dtype);
    max_diff = std::max(max_diff, (lp_whole - lp_shared).abs().max().item<double>());
    if (r > 0) best_whole = std::min(best_whole, t_whole), best_shared = std::min(best_shared, t_shared);
  }
  const int64_t rows = static_cast<int64_t>(groups) * group;
  std::printf("%s\n", nlohmann::json{{"bench", "shared-prompt"},
                                     {"model", dir},
                                     {"params_m", model::CountParameters(*m) / 1e6},
                                     {"groups", groups},
                                     {"group", group},
                                     {"prompt_tokens", prompt_tokens},
                                     {"common_tokens", common_tokens},
                                     {"completion_tokens", completion_tokens},
                                     {"threads", where.cpu_threads},
                                     {"device", where.device.str()},
                                     {"products", where.dtype == torch::kBFloat16 ? "bf16" : "fp32"},
                                     {"whole_tokens", rows * (prompt_tokens + completion_tokens)},
                                     {"shared_tokens", common_tokens + groups * (prompt_tokens - common_tokens) +
                                                           rows * completion_tokens},
                                     {"whole_s", best_whole},
                                     {"shared_s", best_shared},
                                     {"speedup", best_whole / best_shared},
                                     {"max_logprob_diff", max_diff}}
                          .dump()
                          .c_str());
  std::fflush(stdout);
  return 0;
}

}  // namespace prlm::bench
