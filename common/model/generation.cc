#include "common/model/generation.h"

#include <chrono>
#include <cstdio>
#include <random>

#include <torch/cuda.h>

#include "common/model/model_config.h"
#include "common/util/check.h"
#include "common/util/clock.h"
#include "common/util/rng.h"

namespace prlm::model {
namespace {

// Left-pads `seqs` into ids [B, L] and mask [B, L].
std::pair<torch::Tensor, torch::Tensor> LeftPad(const std::vector<const std::vector<int32_t>*>& seqs, int32_t pad,
                                                torch::Device device) {
  size_t L = 0;
  for (const auto* s : seqs) L = std::max(L, s->size());
  const int64_t B = static_cast<int64_t>(seqs.size());
  auto ids = torch::full({B, static_cast<int64_t>(L)}, pad, torch::kLong);
  auto mask = torch::zeros({B, static_cast<int64_t>(L)}, torch::kLong);
  auto ia = ids.accessor<int64_t, 2>();
  auto ma = mask.accessor<int64_t, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& s = *seqs[b];
    const size_t off = L - s.size();
    for (size_t t = 0; t < s.size(); ++t) ia[b][off + t] = s[t], ma[b][off + t] = 1;
  }
  return {ids.to(device), mask.to(device)};
}

// Draws one token per row. `logits` [R, V] fp32 on CPU; rngs[r] is row r's
// stream. Returns (token, log-prob under logits / temperature).
std::vector<std::pair<int32_t, float>> SampleRows(const torch::Tensor& logits, const SamplingParams& p,
                                                  std::vector<std::mt19937_64*>& rngs) {
  const int64_t R = logits.size(0), V = logits.size(1);
  const double temp = p.greedy || p.temperature <= 0 ? 1.0 : p.temperature;
  const auto scaled = logits / temp;
  const auto logp = torch::log_softmax(scaled, -1);
  std::vector<std::pair<int32_t, float>> out(R);
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

}  // namespace

std::string GenerationStats::Summary() const {
  char buf[160];
  std::snprintf(buf, sizeof(buf), "prefill %lld tokens at %.0f tokens/s, decode %lld tokens at %.0f tokens/s",
                static_cast<long long>(prefill_tokens), prefill_tokens / std::max(prefill_seconds, 1e-9),
                static_cast<long long>(decode_tokens), decode_tokens / std::max(decode_seconds, 1e-9));
  return buf;
}

uint64_t SampleSeed(uint64_t run_seed, uint64_t prompt_index, uint64_t sample_index) {
  return util::SplitMix64::Mix(util::SplitMix64::Mix(util::SplitMix64::Mix(run_seed) ^ prompt_index) ^ sample_index);
}

std::vector<std::vector<Completion>> Generate(CausalLM& model, const std::vector<GenerationRequest>& requests,
                                              const SamplingParams& params, GenerationStats* stats) {
  torch::NoGradGuard no_grad;
  std::vector<std::vector<Completion>> results(requests.size());
  if (requests.empty()) return results;
  const auto device = model->model->embed_tokens->weight.device();

  // 1. Left-pad the prompts and prefill them once.
  std::vector<const std::vector<int32_t>*> prompts;
  for (const auto& r : requests) {
    PRLM_REQUIRE(!r.prompt.empty(), "generate: empty prompt");
    PRLM_REQUIRE(!r.sample_seeds.empty(), "generate: a request asks for zero samples");
    prompts.push_back(&r.prompt);
  }
  auto [ids, mask] = LeftPad(prompts, params.pad_token_id, device);
  const int64_t P = ids.size(1);
  PRLM_REQUIRE(P + params.max_new_tokens <= model->config().max_position_embeddings,
               "generate: prompt (" << P << ") + max_new_tokens (" << params.max_new_tokens
                                    << ") exceeds max_position_embeddings " << model->config().max_position_embeddings);
  auto t0 = util::Clock::now();
  KvCache cache = model->NewCache(ids.size(0), P + params.max_new_tokens);
  const auto positions = PositionsFromMask(mask);
  auto hidden = model->Forward(ids, positions, AttentionBias(mask, 0, P, torch::kFloat), &cache);
  auto logits = model->Logits(hidden.select(1, P - 1));  // [B, V]
  if (stats) {
    if (device.is_cuda()) torch::cuda::synchronize();  // kernels run asynchronously
    for (const auto* p : prompts) stats->prefill_tokens += static_cast<int64_t>(p->size());
    stats->prefill_seconds += util::Seconds(t0);
  }

  // 2. Repeat each prompt's row for its samples: rows share the prefill.
  struct Row {
    size_t request, sample;
    std::mt19937_64 rng;
  };
  std::vector<Row> rows;
  std::vector<int64_t> src;
  for (size_t i = 0; i < requests.size(); ++i) {
    results[i].resize(requests[i].sample_seeds.size());
    for (size_t g = 0; g < requests[i].sample_seeds.size(); ++g) {
      rows.push_back({i, g, std::mt19937_64(requests[i].sample_seeds[g])});
      src.push_back(static_cast<int64_t>(i));
    }
  }
  const auto src_index = torch::tensor(src, torch::kLong).to(device);
  cache.SelectRows(src_index);
  logits = logits.index_select(0, src_index);
  mask = mask.index_select(0, src_index);
  auto next_pos = positions.select(1, P - 1).index_select(0, src_index) + 1;  // [R]

  // 3. Decode: sample, record, stop, feed back. `active[k]` is the row of
  //    batch slot k; finished slots are compacted away.
  t0 = util::Clock::now();
  std::vector<size_t> active(rows.size());
  for (size_t k = 0; k < active.size(); ++k) active[k] = k;
  for (int step = 0; step < params.max_new_tokens && !active.empty(); ++step) {
    std::vector<std::mt19937_64*> rngs;
    for (size_t k : active) rngs.push_back(&rows[k].rng);
    const auto drawn = SampleRows(logits.to(torch::kCPU, torch::kFloat), params, rngs);
    std::vector<int64_t> keep, next_tokens;
    for (size_t k = 0; k < active.size(); ++k) {
      Row& row = rows[active[k]];
      Completion& c = results[row.request][row.sample];
      c.tokens.push_back(drawn[k].first);
      c.logprobs.push_back(drawn[k].second);
      const bool stop = std::find(params.stop_token_ids.begin(), params.stop_token_ids.end(), drawn[k].first) !=
                        params.stop_token_ids.end();
      if (stop) c.stopped = true;
      if (!stop && step + 1 < params.max_new_tokens) {
        keep.push_back(static_cast<int64_t>(k));
        next_tokens.push_back(drawn[k].first);
      }
    }
    if (stats) stats->decode_tokens += static_cast<int64_t>(active.size());
    if (keep.empty()) break;
    if (keep.size() < active.size()) {
      const auto keep_index = torch::tensor(keep, torch::kLong).to(device);
      cache.SelectRows(keep_index);
      mask = mask.index_select(0, keep_index);
      next_pos = next_pos.index_select(0, keep_index);
      std::vector<size_t> still;
      for (int64_t k : keep) still.push_back(active[k]);
      active = std::move(still);
    }
    const int64_t R = static_cast<int64_t>(active.size());
    mask = torch::cat({mask, torch::ones({R, 1}, mask.options())}, 1);
    const auto tok = torch::tensor(next_tokens, torch::kLong).to(device).view({R, 1});
    const int64_t past = cache.length;
    hidden = model->Forward(tok, next_pos.view({R, 1}), AttentionBias(mask, past, 1, torch::kFloat), &cache);
    logits = model->Logits(hidden.select(1, 0));
    next_pos = next_pos + 1;
  }
  if (stats) stats->decode_seconds += util::Seconds(t0);
  return results;
}

torch::Tensor TokenLogprobs(CausalLM& model, const torch::Tensor& ids, const torch::Tensor& mask, double temperature) {
  const int64_t T = ids.size(1);
  const auto hidden = model->Forward(ids, PositionsFromMask(mask), AttentionBias(mask, 0, T, torch::kFloat), nullptr);
  auto logits = model->Logits(hidden.narrow(1, 0, T - 1)).to(torch::kFloat);
  if (temperature != 1.0) logits = logits / temperature;
  const auto targets = ids.narrow(1, 1, T - 1).unsqueeze(-1);
  // log_softmax(x)[y] = x[y] - logsumexp(x), without materialising log_softmax.
  const auto lp = logits.gather(-1, targets).squeeze(-1) - logits.logsumexp(-1);
  return lp * mask.narrow(1, 1, T - 1).to(lp.scalar_type());
}

std::vector<std::vector<float>> SequenceLogprobs(CausalLM& model, const std::vector<std::vector<int32_t>>& seqs,
                                                 double temperature) {
  torch::NoGradGuard no_grad;
  std::vector<const std::vector<int32_t>*> ptrs;
  for (const auto& s : seqs) {
    PRLM_REQUIRE(s.size() >= 2, "logprobs: a sequence needs at least 2 tokens");
    ptrs.push_back(&s);
  }
  const auto device = model->model->embed_tokens->weight.device();
  auto [ids, mask] = LeftPad(ptrs, 0, device);
  const auto lp = TokenLogprobs(model, ids, mask, temperature).to(torch::kCPU).contiguous();
  const int64_t L = ids.size(1);
  std::vector<std::vector<float>> out;
  auto a = lp.accessor<float, 2>();
  for (size_t b = 0; b < seqs.size(); ++b) {
    std::vector<float> row;
    for (int64_t t = L - static_cast<int64_t>(seqs[b].size()); t < L - 1; ++t) row.push_back(a[b][t]);
    out.push_back(std::move(row));
  }
  return out;
}

std::string ApplyModelSampling(const std::string& model_dir, SamplingParams* p) {
  const auto g = GenerationConfig::LoadFromDir(model_dir);
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

}  // namespace prlm::model
