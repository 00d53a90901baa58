#include "common/rollout/simulated_generation.h"

#include <algorithm>
#include <chrono>
#include <thread>

#include "common/util/check.h"

namespace prlm::rollout {
namespace {

// `completion_tokens` ids: head, filler up to the length, tail, stop (cut
// from the end when the length is shorter than head + tail + stop).
generation::Completion Sample(size_t n, const std::vector<int32_t>& head, const std::vector<int32_t>& filler,
                              const std::vector<int32_t>& tail, int32_t stop) {
  generation::Completion c;
  c.tokens = head;
  const size_t fixed = head.size() + tail.size() + 1;
  for (size_t i = 0; fixed + i < n; ++i) c.tokens.push_back(filler[i % filler.size()]);
  c.tokens.insert(c.tokens.end(), tail.begin(), tail.end());
  c.tokens.push_back(stop);
  c.stopped = c.tokens.size() <= n;
  c.finish = c.stopped ? generation::FinishReason::kStopToken : generation::FinishReason::kLength;
  c.tokens.resize(std::min(c.tokens.size(), n));
  c.logprobs.assign(c.tokens.size(), -1.0f);
  c.versions.assign(c.tokens.size(), 0);  // AnswerQuestions stamps the policy's version
  return c;
}

}  // namespace

bool IsLongTailSample(uint64_t seed, double fraction) {
  // splitmix64's finaliser: neighbouring seeds land far apart.
  uint64_t z = seed + 0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return static_cast<double>(z >> 11) * 0x1.0p-53 < fraction;
}

std::vector<std::vector<generation::Completion>> SimulateCompletions(const SimulatedGeneration& s,
                                                                     const text::Tokenizer& tokenizer,
                                                                     const std::vector<int32_t>& stop_token_ids,
                                                                     const std::vector<SimulatedRequest>& requests,
                                                                     generation::GenerationStats* stats) {
  PRLM_CHECK(!stop_token_ids.empty() && s.completion_tokens >= 1 && s.decode_tokens_per_s > 0 &&
             s.long_tail_factor >= 1);
  const auto head = tokenizer.Encode("<think>\n");
  auto filler = tokenizer.Encode(" the profile suggests");
  if (filler.empty()) filler = head;
  const auto wrong_tail = tokenizer.Encode("\n</think>\n<answer>none</answer>");
  std::vector<std::vector<generation::Completion>> out;
  int64_t prompt_tokens = 0, sampled = 0, steps = 0;
  for (const auto& r : requests) {
    const auto gold_tail = tokenizer.Encode("\n</think>\n<answer>" + *r.gold + "</answer>");
    prompt_tokens += static_cast<int64_t>(r.prompt->size());
    auto& samples = out.emplace_back();
    for (uint64_t seed : *r.sample_seeds) {
      const int64_t n = s.completion_tokens * (IsLongTailSample(seed, s.long_tail_fraction) ? s.long_tail_factor : 1);
      samples.push_back(
          Sample(static_cast<size_t>(n), head, filler, seed % 2 ? gold_tail : wrong_tail, stop_token_ids.front()));
      sampled += static_cast<int64_t>(samples.back().tokens.size());
      steps = std::max(steps, static_cast<int64_t>(samples.back().tokens.size()));
    }
  }
  const double prefill_s = s.prefill_tokens_per_s > 0 ? prompt_tokens / s.prefill_tokens_per_s : 0.0;
  const double decode_s = sampled / s.decode_tokens_per_s + steps * s.decode_step_s;
  std::this_thread::sleep_for(std::chrono::duration<double>(prefill_s + decode_s));
  if (stats) {
    stats->prefill_tokens += prompt_tokens;
    stats->prefill_seconds += prefill_s;
    stats->decode_tokens += sampled;
    stats->decode_seconds += decode_s;
  }
  return out;
}

}  // namespace prlm::rollout
