#include "common/generation/fixed_batch.h"

#include <torch/cuda.h>

#include <algorithm>

#include "common/util/check.h"
#include "common/util/clock.h"

namespace prlm::generation {

std::vector<std::vector<Completion>> GenerateFixedBatch(model::CausalLM& model, const std::vector<GenerationRequest>& requests,
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
    PRLM_REQUIRE(params.stop_strings.empty(), "generate: the fixed-batch baseline has no stop strings (the engine has)");
    prompts.push_back(&r.prompt);
  }
  auto [ids, mask] = model::LeftPad(prompts, params.pad_token_id, device);
  const int64_t P = ids.size(1);
  int max_new = 0;  // the longest any row may run
  for (const auto& r : requests) max_new = std::max(max_new, r.max_new_tokens > 0 ? r.max_new_tokens : params.max_new_tokens);
  PRLM_REQUIRE(P + max_new <= model->config().max_position_embeddings,
               "generate: prompt (" << P << ") + max_new_tokens (" << max_new
                                    << ") exceeds max_position_embeddings " << model->config().max_position_embeddings);
  auto t0 = util::Clock::now();
  model::KvCache cache = model->NewCache(ids.size(0), P + max_new);
  const auto positions = model::PositionsFromMask(mask);
  auto hidden = model->Forward(ids, positions, model::AttentionBias(mask, 0, P, torch::kFloat), &cache);
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
    int max_new_tokens;
  };
  std::vector<Row> rows;
  std::vector<int64_t> src;
  for (size_t i = 0; i < requests.size(); ++i) {
    results[i].resize(requests[i].sample_seeds.size());
    for (size_t g = 0; g < requests[i].sample_seeds.size(); ++g) {
      rows.push_back({i, g, std::mt19937_64(requests[i].sample_seeds[g]),
                      requests[i].max_new_tokens > 0 ? requests[i].max_new_tokens : params.max_new_tokens});
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
  for (int step = 0; step < max_new && !active.empty(); ++step) {
    std::vector<std::mt19937_64*> rngs;
    for (size_t k : active) rngs.push_back(&rows[k].rng);
    const auto drawn = DrawTokens(logits.to(torch::kCPU, torch::kFloat), params, rngs);
    std::vector<int64_t> keep, next_tokens;
    for (size_t k = 0; k < active.size(); ++k) {
      Row& row = rows[active[k]];
      Completion& c = results[row.request][row.sample];
      c.tokens.push_back(drawn[k].token);
      c.logprobs.push_back(drawn[k].logprob);
      c.versions.push_back(0);
      const bool stop = std::find(params.stop_token_ids.begin(), params.stop_token_ids.end(), drawn[k].token) !=
                        params.stop_token_ids.end();
      if (stop) c.stopped = true, c.finish = FinishReason::kStopToken;
      if (!stop && step + 1 < row.max_new_tokens) {
        keep.push_back(static_cast<int64_t>(k));
        next_tokens.push_back(drawn[k].token);
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
    hidden = model->Forward(tok, next_pos.view({R, 1}), model::AttentionBias(mask, past, 1, torch::kFloat), &cache);
    logits = model->Logits(hidden.select(1, 0));
    next_pos = next_pos + 1;
  }
  if (stats) stats->decode_seconds += util::Seconds(t0);
  return results;
}

}  // namespace prlm::generation
