// The generation engine: the same samples as the fixed-batch generator it
// replaced (same seeds: same tokens, log-probs to float rounding), whatever
// the admission order, pool size, chunking or company; block accounting over
// many random requests; weight updates between steps; stop strings across
// token boundaries; bad requests refused with a message.
#include "common/generation/engine.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <map>
#include <random>

#include "common/generation/fixed_batch.h"
#include "common/generation/generate.h"
#include "common/generation/paged_attention.h"
#include "common/model/logprobs.h"
#include "common/util/check.h"
#include "tests/model_fixtures.h"

namespace prlm::generation {
namespace {

using prlm::testing::TinyCausalLM;

SamplingParams Sampled(int max_new = 10) {
  SamplingParams p;
  p.max_new_tokens = max_new;
  p.temperature = 0.9;
  p.top_p = 0.95;
  p.top_k = 40;
  p.stop_token_ids = {3};
  return p;
}

std::vector<GenerationRequest> RandomRequests(uint64_t seed, int n, int max_prompt, int max_g, int max_new) {
  std::mt19937_64 rng(seed);
  std::vector<GenerationRequest> out(n);
  for (int i = 0; i < n; ++i) {
    const int len = 1 + static_cast<int>(rng() % max_prompt);
    for (int t = 0; t < len; ++t) out[i].prompt.push_back(4 + static_cast<int32_t>(rng() % 90));
    const int g = 1 + static_cast<int>(rng() % max_g);
    for (int s = 0; s < g; ++s) out[i].sample_seeds.push_back(rng());
    out[i].max_new_tokens = 1 + static_cast<int>(rng() % max_new);
  }
  return out;
}

void ExpectSameSamples(const std::vector<std::vector<Completion>>& a, const std::vector<std::vector<Completion>>& b,
                       const std::string& what) {
  ASSERT_EQ(a.size(), b.size()) << what;
  for (size_t i = 0; i < a.size(); ++i) {
    ASSERT_EQ(a[i].size(), b[i].size()) << what << " request " << i;
    for (size_t g = 0; g < a[i].size(); ++g) {
      EXPECT_EQ(a[i][g].tokens, b[i][g].tokens) << what << " request " << i << " sample " << g;
      EXPECT_EQ(a[i][g].stopped, b[i][g].stopped) << what << " request " << i << " sample " << g;
      ASSERT_EQ(a[i][g].logprobs.size(), b[i][g].logprobs.size());
      for (size_t t = 0; t < a[i][g].logprobs.size(); ++t)
        EXPECT_NEAR(a[i][g].logprobs[t], b[i][g].logprobs[t], 1e-4) << what << " request " << i << " token " << t;
    }
  }
}

// Runs `requests` through an engine with `options`, submitted in `order`.
std::vector<std::vector<Completion>> RunEngine(model::CausalLM& m, const std::vector<GenerationRequest>& requests,
                                               const SamplingParams& p, const EngineOptions& options,
                                               const std::vector<size_t>& order, EngineStats* stats = nullptr) {
  Engine engine(m, p, options);
  std::map<uint64_t, size_t> index_of;
  std::vector<std::vector<Completion>> out(requests.size());
  for (size_t i : order) {
    index_of[engine.Submit(requests[i])] = i;
    out[i].resize(requests[i].sample_seeds.size());
  }
  engine.RunUntilIdle([&](FinishedSample&& f) { out[index_of.at(f.request)][f.sample] = std::move(f.completion); });
  EXPECT_EQ(engine.pool().free_blocks(), engine.pool().num_blocks()) << "blocks leaked";
  if (stats) *stats = engine.stats();
  return out;
}

std::vector<size_t> InOrder(size_t n) {
  std::vector<size_t> v(n);
  for (size_t i = 0; i < n; ++i) v[i] = i;
  return v;
}

TEST(GenerationEngine, SameSamplesAsTheFixedBatchGenerator) {
  auto m = TinyCausalLM();
  for (uint64_t trial = 0; trial < 4; ++trial) {
    const auto reqs = RandomRequests(100 + trial, 6, 37, 5, 14);
    SamplingParams p = Sampled(14);
    if (trial == 3) p.greedy = true;
    const auto fixed = GenerateFixedBatch(m, reqs, p);
    EngineStats stats;
    const auto engine = RunEngine(m, reqs, p, OptionsFor(reqs, p), InOrder(reqs.size()), &stats);
    ExpectSameSamples(fixed, engine, "trial " + std::to_string(trial));
  }
}

TEST(GenerationEngine, SamplesDoNotDependOnAdmissionOrderPoolSizeOrChunking) {
  auto m = TinyCausalLM();
  const auto reqs = RandomRequests(7, 10, 45, 4, 20);
  const SamplingParams p = Sampled(20);
  const auto reference = RunEngine(m, reqs, p, OptionsFor(reqs, p), InOrder(reqs.size()));
  std::mt19937_64 rng(3);
  int64_t preemptions = 0, cow = 0;
  for (int trial = 0; trial < 6; ++trial) {
    EngineOptions o;
    o.block_size = 1 + static_cast<int64_t>(rng() % 8);
    o.kv_cache_tokens = 70 + static_cast<int64_t>(rng() % 200);  // a prompt + 20 always fits
    o.max_sequences = 1 + static_cast<int64_t>(rng() % 12);
    o.step_tokens = 3 + static_cast<int64_t>(rng() % 40);  // long prompts prefill in chunks
    auto order = InOrder(reqs.size());
    std::shuffle(order.begin(), order.end(), rng);
    EngineStats stats;
    const auto got = RunEngine(m, reqs, p, o, order, &stats);
    ExpectSameSamples(reference, got, "trial " + std::to_string(trial));
    preemptions += stats.preemptions;
    cow += stats.copy_on_write_blocks;
  }
  EXPECT_GT(preemptions, 0) << "the small pools should have forced preemption";
  EXPECT_GT(cow, 0) << "groups should have copied their shared partial block";
}

TEST(GenerationEngine, NoBlockLeaksOverManyRandomRequests) {
  auto m = TinyCausalLM();
  EngineOptions o;
  o.block_size = 4;
  o.kv_cache_tokens = 160;
  o.max_sequences = 48;
  o.step_tokens = 96;
  SamplingParams p = Sampled(6);
  Engine engine(m, p, o);
  const auto reqs = RandomRequests(11, 10000, 24, 3, 6);
  std::vector<int> samples_back(reqs.size(), 0);
  size_t submitted = 0;
  int64_t max_free_seen_while_busy = 0;
  // Submit in waves while stepping, as a rollout worker would.
  while (submitted < reqs.size() || !engine.Idle()) {
    for (int k = 0; k < 40 && submitted < reqs.size(); ++k) {
      const uint64_t id = engine.Submit(reqs[submitted]);
      ASSERT_EQ(id, submitted);
      ++submitted;
    }
    for (auto& f : engine.Step()) {
      ASSERT_LT(f.request, reqs.size());
      EXPECT_LE(static_cast<int>(f.completion.tokens.size()), reqs[f.request].max_new_tokens);
      EXPECT_EQ(f.completion.tokens.size(), f.completion.versions.size());
      ++samples_back[f.request];
    }
    max_free_seen_while_busy = std::max(max_free_seen_while_busy, engine.pool().free_blocks());
  }
  for (size_t i = 0; i < reqs.size(); ++i)
    ASSERT_EQ(samples_back[i], static_cast<int>(reqs[i].sample_seeds.size())) << "request " << i;
  EXPECT_EQ(engine.pool().free_blocks(), engine.pool().num_blocks());
  EXPECT_GT(engine.stats().preemptions, 0);
  EXPECT_LE(engine.stats().peak_blocks_used, engine.pool().num_blocks());
}

TEST(GenerationEngine, AFinishedSampleComesBackAtOnceAndNewcomersJoinMidDecode) {
  auto m = TinyCausalLM();
  SamplingParams p = Sampled(30);
  p.stop_token_ids.clear();
  Engine engine(m, p);
  GenerationRequest long_one{{5, 6, 7, 8}, {1}, 30}, short_one{{9, 10}, {2}, 2};
  const uint64_t long_id = engine.Submit(long_one);
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(engine.Step().empty());
  const uint64_t short_id = engine.Submit(short_one);
  std::vector<FinishedSample> got;
  int steps = 0;
  while (got.empty()) got = engine.Step(), ++steps;
  EXPECT_EQ(got[0].request, short_id);
  EXPECT_EQ(steps, 2) << "a 2-token sample admitted mid-decode finishes after 2 steps";
  EXPECT_FALSE(engine.Idle());
  // Each equals itself generated alone.
  const auto alone = GenerateFixedBatch(m, {short_one}, p);
  EXPECT_EQ(got[0].completion.tokens, alone[0][0].tokens);
  engine.RunUntilIdle([&](FinishedSample&& f) {
    EXPECT_EQ(f.request, long_id);
    EXPECT_EQ(f.completion.tokens, GenerateFixedBatch(m, {long_one}, p)[0][0].tokens);
  });
}

std::vector<std::pair<std::string, torch::Tensor>> WeightsOf(model::CausalLM& m) {
  std::vector<std::pair<std::string, torch::Tensor>> out;
  for (const auto& kv : m->named_parameters()) out.emplace_back(kv.key(), kv.value().detach().clone());
  return out;
}

TEST(GenerationEngine, AWeightUpdateBetweenStepsChangesVersionsAndLogprobsFromThatPoint) {
  auto m = TinyCausalLM(false, 1);
  auto before = TinyCausalLM(false, 1);
  auto after = TinyCausalLM(false, 2);
  SamplingParams p = Sampled(16);
  p.stop_token_ids.clear();
  const std::vector<GenerationRequest> reqs = {{{5, 6, 7, 8, 9}, {1, 2, 3}}, {{11, 12}, {4}}};
  Engine engine(m, p);
  for (const auto& r : reqs) engine.Submit(r);
  for (int i = 0; i < 6; ++i) ASSERT_TRUE(engine.Step().empty());
  engine.UpdateWeights(7, WeightsOf(after));
  EXPECT_EQ(engine.weight_version(), 0) << "applies at the next step, not before";
  std::vector<FinishedSample> done;
  engine.RunUntilIdle([&](FinishedSample&& f) { done.push_back(std::move(f)); });
  EXPECT_EQ(engine.weight_version(), 7);
  ASSERT_EQ(done.size(), 4u);
  for (const auto& f : done) {
    const auto& c = f.completion;
    ASSERT_EQ(c.tokens.size(), 16u);
    // Tokens 1..6 were drawn under version 0 (the first at prefill), the rest under 7.
    for (size_t t = 0; t < c.tokens.size(); ++t) EXPECT_EQ(c.versions[t], t < 6 ? 0 : 7) << "token " << t;
    // Every token's log-prob is the scoring of its prefix under the weights that drew it.
    std::vector<int32_t> seq = reqs[f.request].prompt;
    seq.insert(seq.end(), c.tokens.begin(), c.tokens.end());
    const auto old_lp = model::SequenceLogprobs(before, {seq}, p.temperature)[0];
    const auto new_lp = model::SequenceLogprobs(after, {seq}, p.temperature)[0];
    const size_t P = reqs[f.request].prompt.size();
    for (size_t t = 0; t < c.tokens.size(); ++t)
      EXPECT_NEAR(c.logprobs[t], (t < 6 ? old_lp : new_lp)[P - 1 + t], 1e-4) << "token " << t;
  }
}

// Partial rollouts copy a fetched version into the parameters between two
// steps and tell the engine with no tensors: the same samples as handing it
// the tensors, and tokens before the update carry the starting version.
TEST(GenerationEngine, WeightsWrittenInPlaceAndAnnouncedWithoutTensorsMatchAnUpdateByTensors) {
  auto after = TinyCausalLM(false, 2);
  SamplingParams p = Sampled(14);
  p.stop_token_ids.clear();
  const std::vector<GenerationRequest> reqs = {{{5, 6, 7, 8, 9}, {1, 2}}, {{11, 12}, {4}}};
  const auto run = [&](bool in_place) {
    auto m = TinyCausalLM(false, 1);
    EngineOptions o;
    o.weight_version = 3;
    Engine engine(m, p, o);
    for (const auto& r : reqs) engine.Submit(r);
    for (int i = 0; i < 5; ++i) engine.Step();
    if (in_place) {
      torch::NoGradGuard no_grad;
      auto params = m->named_parameters();
      for (auto& [name, t] : WeightsOf(after)) params[name].copy_(t);
      engine.UpdateWeights(4, {});
    } else {
      engine.UpdateWeights(4, WeightsOf(after));
    }
    std::vector<std::vector<Completion>> got = {std::vector<Completion>(2), std::vector<Completion>(1)};
    engine.RunUntilIdle([&](FinishedSample&& f) { got[f.request][f.sample] = std::move(f.completion); });
    return got;
  };
  const auto by_tensors = run(false), in_place = run(true);
  ExpectSameSamples(by_tensors, in_place, "in place");
  for (const auto& r : in_place)
    for (const auto& c : r)
      for (size_t t = 0; t < c.versions.size(); ++t) EXPECT_EQ(c.versions[t], t < 5 ? 3 : 4) << "token " << t;
}

TEST(GenerationEngine, AbortAndRequeueRestartsUnderTheNewWeights) {
  auto m = TinyCausalLM(false, 1);
  auto after = TinyCausalLM(false, 2);
  SamplingParams p = Sampled(12);
  const std::vector<GenerationRequest> reqs = {{{5, 6, 7, 8, 9}, {1, 2}}, {{11, 12}, {4}}};
  EngineOptions o;
  o.on_weight_update = WeightSwapPolicy::kAbortAndRequeue;
  Engine engine(m, p, o);
  for (const auto& r : reqs) engine.Submit(r);
  engine.Step();
  engine.Step();
  engine.UpdateWeights(1, WeightsOf(after));
  std::vector<std::vector<Completion>> got = {std::vector<Completion>(2), std::vector<Completion>(1)};
  engine.RunUntilIdle([&](FinishedSample&& f) { got[f.request][f.sample] = std::move(f.completion); });
  for (const auto& r : got)
    for (const auto& c : r)
      for (int64_t v : c.versions) EXPECT_EQ(v, 1);
  ExpectSameSamples(GenerateFixedBatch(after, reqs, p), got, "restarted");
}

TEST(GenerationEngine, AbortAndRequeueAlsoRestartsSamplesWaitingAfterPreemption) {
  auto m = TinyCausalLM(false, 1);
  auto after = TinyCausalLM(false, 2);
  SamplingParams p = Sampled(20);
  p.stop_token_ids.clear();
  const auto reqs = RandomRequests(21, 6, 12, 3, 20);
  EngineOptions o;
  o.on_weight_update = WeightSwapPolicy::kAbortAndRequeue;
  o.block_size = 2;
  o.kv_cache_tokens = 40;  // too small for all: samples are preempted mid-decode
  Engine engine(m, p, o);
  for (const auto& r : reqs) engine.Submit(r);
  std::vector<std::vector<Completion>> got(reqs.size());
  for (size_t i = 0; i < reqs.size(); ++i) got[i].resize(reqs[i].sample_seeds.size());
  const auto keep = [&](FinishedSample&& f) { got[f.request][f.sample] = std::move(f.completion); };
  while (engine.stats().preemptions == 0 && !engine.Idle())
    for (auto& f : engine.Step()) keep(std::move(f));
  ASSERT_GT(engine.stats().preemptions, 0);
  engine.UpdateWeights(1, WeightsOf(after));
  std::vector<std::pair<size_t, size_t>> finished_before;
  for (size_t i = 0; i < got.size(); ++i)
    for (size_t g = 0; g < got[i].size(); ++g)
      if (!got[i][g].tokens.empty()) finished_before.emplace_back(i, g);
  engine.RunUntilIdle(keep);
  const auto fresh = GenerateFixedBatch(after, reqs, p);
  for (size_t i = 0; i < got.size(); ++i)
    for (size_t g = 0; g < got[i].size(); ++g) {
      if (std::find(finished_before.begin(), finished_before.end(), std::make_pair(i, g)) != finished_before.end())
        continue;  // finished under the old weights
      for (int64_t v : got[i][g].versions) EXPECT_EQ(v, 1) << "request " << i << " sample " << g;
      EXPECT_EQ(got[i][g].tokens, fresh[i][g].tokens) << "request " << i << " sample " << g;
    }
}

TEST(GenerationEngine, StopStringsMatchAcrossTokenBoundaries) {
  auto m = TinyCausalLM();
  // Two characters per token, so a string can straddle two tokens.
  const Engine::TokenText text = [](int32_t id) {
    return std::string{static_cast<char>('a' + id % 26), static_cast<char>('A' + (id / 26) % 26)};
  };
  SamplingParams p;
  p.greedy = true;
  p.max_new_tokens = 12;
  const GenerationRequest r{{1, 2, 3}, {0}};
  const auto free_run = Generate(m, {r}, p)[0][0].tokens;
  ASSERT_EQ(free_run.size(), 12u);
  // The second character of token 4 and the first of token 5.
  const std::string stop = text(free_run[4]).substr(1) + text(free_run[5]).substr(0, 1);
  std::string so_far;
  size_t expect_len = 0;
  for (size_t t = 0; t < free_run.size() && !expect_len; ++t)
    if ((so_far += text(free_run[t])).find(stop) != std::string::npos) expect_len = t + 1;
  p.stop_strings = {"never-there", stop};
  const auto stopped = Generate(m, {r}, p, nullptr, nullptr, text)[0][0];
  EXPECT_EQ(stopped.finish, FinishReason::kStopString);
  EXPECT_TRUE(stopped.stopped);
  EXPECT_EQ(stopped.tokens, std::vector<int32_t>(free_run.begin(), free_run.begin() + expect_len));
}

TEST(GenerationEngine, BadRequestsAndOptionsAreRefusedWithAMessage) {
  auto m = TinyCausalLM();
  EngineOptions small;
  small.kv_cache_tokens = 32;
  small.block_size = 8;
  Engine engine(m, Sampled(8), small);
  const auto refused = [&](GenerationRequest r, const std::string& says) {
    try {
      engine.Submit(std::move(r));
      ADD_FAILURE() << "accepted; expected: " << says;
    } catch (const util::Error& e) {
      EXPECT_NE(std::string(e.what()).find(says), std::string::npos) << e.what();
    }
  };
  refused({{}, {1}}, "empty prompt");
  refused({{1, 2}, {}}, "zero samples");
  refused({std::vector<int32_t>(30, 5), {1}}, "more than the whole pool");
  refused({{1, 500}, {1}}, "outside the model's vocabulary");
  refused({{1}, {1}, -2}, "negative");
  EXPECT_TRUE(engine.Idle()) << "nothing refused was queued";
  SamplingParams with_stop = Sampled(8);
  with_stop.stop_strings = {"</answer>"};
  EXPECT_THROW(Engine(m, with_stop), util::Error);  // no token text
  EngineOptions zero;
  zero.max_sequences = 0;
  EXPECT_THROW(Engine(m, Sampled(8), zero), util::Error);
  EXPECT_THROW(engine.UpdateWeights(1, {{"model.no_such.weight", torch::zeros({1})}}), util::Error);
  EXPECT_THROW(engine.UpdateWeights(1, {{"model.norm.weight", torch::zeros({3})}}), util::Error);
}

TEST(PagedAttention, CpuKernelMatchesGatheredAttention) {
  torch::manual_seed(5);
  for (auto dtype : {torch::kFloat, torch::kBFloat16}) {
    KvBlockPool pool(1, 40, 4, 2, 16, torch::TensorOptions().dtype(dtype));
    KvBlockPool pool2(1, 40, 4, 2, 16, torch::TensorOptions().dtype(dtype));
    pool.keys(0).normal_(), pool.values(0).normal_();
    pool2.keys(0).copy_(pool.keys(0)), pool2.values(0).copy_(pool.values(0));
    AttentionBatch batch;
    batch.Add({7, 3, 12, 30, 1}, 17, 1);  // decoding at position 17
    batch.Add({5, 9, 2}, 0, 9);           // a prompt chunk
    batch.Add({22, 23}, 4, 3);            // a later chunk
    const int64_t N = batch.tokens();
    const auto q = torch::randn({N, 6, 16}).to(dtype), k = torch::randn({N, 2, 16}).to(dtype),
               v = torch::randn({N, 2, 16}).to(dtype);
    const auto a = PagedAttention(q, k, v, pool, 0, batch).to(torch::kFloat);
    const auto b = PagedAttentionGathered(q, k, v, pool2, 0, batch).to(torch::kFloat);
    EXPECT_TRUE(torch::equal(pool.keys(0), pool2.keys(0)));
    EXPECT_LT((a - b).abs().max().item<float>(), dtype == torch::kFloat ? 1e-5 : 2e-2);
  }
}

}  // namespace
}  // namespace prlm::generation
