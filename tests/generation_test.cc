// Sampling: G samples sharing one prefill equal the same samples generated
// one by one; batching prompts does not change their samples; greedy output
// matches the arg-max of a full forward; reported log-probs match the
// log-prob path GRPO uses.
#include "common/generation/generate.h"

#include <gtest/gtest.h>

#include <set>

#include "common/model/logprobs.h"
#include "common/util/check.h"
#include "tests/model_fixtures.h"

namespace prlm::generation {
namespace {

using prlm::testing::TinyCausalLM;

SamplingParams Sampling() {
  SamplingParams p;
  p.max_new_tokens = 12;
  p.temperature = 0.9;
  p.top_p = 0.95;
  p.top_k = 40;
  p.stop_token_ids = {3};
  return p;
}

TEST(Generation, SharedPrefixGroupEqualsSamplesGeneratedSeparately) {
  auto m = TinyCausalLM();
  const std::vector<int32_t> prompt = {5, 17, 42, 8, 8, 61};
  GenerationRequest group{prompt, {11, 22, 33, 44}};
  const auto together = Generate(m, {group}, Sampling());
  ASSERT_EQ(together[0].size(), 4u);
  std::set<std::vector<int32_t>> distinct;
  for (size_t g = 0; g < 4; ++g) {
    const auto alone = Generate(m, {GenerationRequest{prompt, {group.sample_seeds[g]}}}, Sampling());
    EXPECT_EQ(together[0][g].tokens, alone[0][0].tokens) << "sample " << g;
    ASSERT_EQ(together[0][g].logprobs.size(), alone[0][0].logprobs.size());
    for (size_t t = 0; t < alone[0][0].logprobs.size(); ++t)
      EXPECT_NEAR(together[0][g].logprobs[t], alone[0][0].logprobs[t], 1e-4);
    distinct.insert(together[0][g].tokens);
  }
  EXPECT_GT(distinct.size(), 1u);  // different seeds, different samples
}

TEST(Generation, BatchingPromptsOfDifferentLengthsChangesNothing) {
  auto m = TinyCausalLM();
  const std::vector<GenerationRequest> reqs = {
      {{1, 2, 3, 4, 5, 6, 7, 8, 9}, {7, 8}}, {{40, 41}, {9}}, {{60, 61, 62, 63}, {10, 11, 12}}};
  const auto batched = Generate(m, reqs, Sampling());
  for (size_t i = 0; i < reqs.size(); ++i) {
    const auto alone = Generate(m, {reqs[i]}, Sampling());
    for (size_t g = 0; g < reqs[i].sample_seeds.size(); ++g)
      EXPECT_EQ(batched[i][g].tokens, alone[0][g].tokens) << "request " << i << " sample " << g;
  }
}

TEST(Generation, GreedyFollowsArgmaxAndLogprobsAgreeWithScoring) {
  auto m = TinyCausalLM();
  SamplingParams p;
  p.greedy = true;
  p.max_new_tokens = 8;
  const std::vector<int32_t> prompt = {9, 8, 7, 6};
  const auto out = Generate(m, {GenerationRequest{prompt, {0}}}, p);
  const auto& c = out[0][0];
  ASSERT_EQ(c.tokens.size(), 8u);
  EXPECT_FALSE(c.stopped);
  std::vector<int32_t> full = prompt;
  full.insert(full.end(), c.tokens.begin(), c.tokens.end());
  // Arg-max check: each generated token is the most likely continuation.
  torch::NoGradGuard g;
  const auto ids = torch::tensor(std::vector<int64_t>(full.begin(), full.end())).view({1, -1});
  const auto mask = torch::ones_like(ids);
  const auto logits = m->Logits(m->Forward(ids, model::PositionsFromMask(mask),
                                           model::AttentionBias(mask, 0, ids.size(1), torch::kFloat), nullptr));
  for (size_t t = 0; t < c.tokens.size(); ++t)
    EXPECT_EQ(logits[0][prompt.size() - 1 + t].argmax().item<int64_t>(), c.tokens[t]);
  // Log-probs from generation equal the scoring path's on the same tokens.
  const auto scored = model::SequenceLogprobs(m, {full});
  for (size_t t = 0; t < c.tokens.size(); ++t) EXPECT_NEAR(c.logprobs[t], scored[0][prompt.size() - 1 + t], 1e-4);
}

TEST(Generation, StopTokenEndsASampleAndIsKept) {
  auto m = TinyCausalLM();
  SamplingParams p;
  p.greedy = true;
  p.max_new_tokens = 6;
  const auto first = Generate(m, {GenerationRequest{{1, 2, 3}, {0}}}, p)[0][0];
  p.stop_token_ids = {first.tokens[2]};
  const auto stopped = Generate(m, {GenerationRequest{{1, 2, 3}, {0}}}, p)[0][0];
  EXPECT_TRUE(stopped.stopped);
  // Ends at the first occurrence of the stop token.
  const auto it = std::find(first.tokens.begin(), first.tokens.end(), first.tokens[2]);
  EXPECT_EQ(stopped.tokens, std::vector<int32_t>(first.tokens.begin(), it + 1));
}

TEST(Generation, TopKOneIsGreedy) {
  auto m = TinyCausalLM();
  SamplingParams greedy;
  greedy.greedy = true;
  greedy.max_new_tokens = 6;
  SamplingParams k1 = greedy;
  k1.greedy = false;
  k1.top_k = 1;
  k1.temperature = 1.3;
  const GenerationRequest r{{4, 5, 6}, {123}};
  EXPECT_EQ(Generate(m, {r}, greedy)[0][0].tokens, Generate(m, {r}, k1)[0][0].tokens);
}

TEST(Generation, BadRequestsAreRefused) {
  auto m = TinyCausalLM();
  EXPECT_THROW(Generate(m, {GenerationRequest{{}, {1}}}, Sampling()), util::Error);
  EXPECT_THROW(Generate(m, {GenerationRequest{{1}, {}}}, Sampling()), util::Error);
  SamplingParams p = Sampling();
  p.max_new_tokens = 100000;
  EXPECT_THROW(Generate(m, {GenerationRequest{{1}, {1}}}, p), util::Error);
  EXPECT_THROW(model::SequenceLogprobs(m, {{1}}), util::Error);
}

}  // namespace
}  // namespace prlm::generation
