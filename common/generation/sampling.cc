#include "common/generation/sampling.h"

#include <limits>

#include "common/model/model_config.h"
#include "common/util/check.h"
#include "common/util/rng.h"

namespace prlm::generation {

std::vector<DrawnToken> DrawTokens(const torch::Tensor& logits, const SamplingParams& p,
                                   const std::vector<std::mt19937_64*>& rngs) {
  const int64_t R = logits.size(0), V = logits.size(1);
  const double temp = p.greedy || p.temperature <= 0 ? 1.0 : p.temperature;
  const auto scaled = logits / temp;
  const auto logp = torch::log_softmax(scaled, -1);
  std::vector<DrawnToken> out(R);
  if (p.greedy || p.temperature <= 0) {
    const auto best = scaled.argmax(-1);
    auto ba = best.accessor<int64_t, 1>();
    auto la = logp.accessor<float, 2>();
    for (int64_t r = 0; r < R; ++r) out[r] = {static_cast<int32_t>(ba[r]), la[r][ba[r]]};
    return out;
  }
  auto filtered = scaled;
  const double neg_inf = -std::numeric_limits<double>::infinity();
  if (p.top_k > 0 && p.top_k < V) {
    const auto kth = std::get<0>(scaled.topk(p.top_k, -1)).select(1, p.top_k - 1).unsqueeze(1);
    filtered = filtered.masked_fill(filtered < kth, neg_inf);
  }
  torch::Tensor order;  // token index per sorted position, when top-p sorts
  torch::Tensor probs;
  if (p.top_p < 1.0) {
    auto [sorted, idx] = filtered.sort(-1, /*descending=*/true);
    auto sp = torch::softmax(sorted, -1);
    // Drop a token once the mass before it already reaches top_p (keeps >= 1).
    const auto before = sp.cumsum(-1) - sp;
    sp = sp.masked_fill(before >= p.top_p, 0.0);
    probs = sp;
    order = idx;
  } else {
    probs = torch::softmax(filtered, -1);
  }
  const auto cdf = probs.cumsum(-1).contiguous();
  auto ca = cdf.accessor<float, 2>();
  if (order.defined()) order = order.contiguous();
  auto la = logp.accessor<float, 2>();
  for (int64_t r = 0; r < R; ++r) {
    const double u = std::generate_canonical<double, 64>(*rngs[r]) * ca[r][V - 1];
    // First position whose cumulative mass exceeds u (binary search).
    int64_t lo = 0, hi = V - 1;
    while (lo < hi) {
      const int64_t mid = (lo + hi) / 2;
      if (ca[r][mid] > u)
        hi = mid;
      else
        lo = mid + 1;
    }
    const int64_t tok = order.defined() ? order.data_ptr<int64_t>()[r * V + lo] : lo;
    out[r] = {static_cast<int32_t>(tok), la[r][tok]};
  }
  return out;
}

uint64_t SampleSeed(uint64_t run_seed, uint64_t prompt_index, uint64_t sample_index) {
  return util::SplitMix64::Mix(util::SplitMix64::Mix(util::SplitMix64::Mix(run_seed) ^ prompt_index) ^ sample_index);
}

std::string ApplyModelSampling(const std::string& model_dir, SamplingParams* p) {
  const auto g = model::GenerationConfig::LoadFromDir(model_dir);
  std::string used;
  const auto note = [&](const std::string& what) { used += (used.empty() ? "" : ", ") + what; };
  if (g.do_sample == false) p->greedy = true, note("greedy (do_sample false)");
  if (g.temperature && *g.temperature > 0)
    p->temperature = *g.temperature, note("temperature " + std::to_string(p->temperature));
  if (g.top_p) p->top_p = *g.top_p, note("top_p " + std::to_string(p->top_p));
  if (g.top_k) p->top_k = static_cast<int>(*g.top_k), note("top_k " + std::to_string(p->top_k));
  return used;
}

std::string ResolvePolicySampling(config::TrainConfig* config) {
  if (config->grpo.sampling != "model") return "";
  SamplingParams p;
  p.temperature = config->grpo.temperature;
  p.top_p = config->grpo.top_p;
  p.top_k = static_cast<int>(config->grpo.top_k);
  const std::string used = ApplyModelSampling(config->model.policy, &p);
  PRLM_REQUIRE(!p.greedy, "grpo.sampling=model: "
                              << config->model.policy
                              << "/generation_config.json says do_sample false, but GRPO samples a group per prompt "
                                 "(set grpo.sampling=config)");
  config->grpo.temperature = p.temperature;
  config->grpo.top_p = p.top_p;
  config->grpo.top_k = p.top_k;
  return "grpo.sampling=model: " + (used.empty()
                                        ? "the policy has no generation_config.json sampling; grpo.* values kept"
                                        : "from generation_config.json: " + used);
}

}  // namespace prlm::generation
