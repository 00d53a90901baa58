// simulate.*: the pieces that stand in for model compute in `prlm bench
// scale` -- simulated completions, the simulated reward model and the
// config section's checks. (The job itself runs under the bench in
// train_test.cc.)
#include <gtest/gtest.h>

#include <string>

#include "common/config/train_config.h"
#include "common/rollout/simulated_generation.h"
#include "common/util/check.h"
#include "reward_server/scorer_setup.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

std::shared_ptr<const text::Tokenizer> Tok() {
  return text::Tokenizer::FromFile(std::string(PRLM_SOURCE_DIR) + "/tests/fixtures/qwen2-tied/tokenizer.json");
}

TEST(SimulatedGeneration, SamplesHaveTheLengthEndOnStopAndAnswerGoldForOddSeeds) {
  const auto tok = Tok();
  const int32_t stop = 7;
  const std::vector<int32_t> prompt = {1, 2, 3};
  const std::vector<uint64_t> seeds = {10, 11, 12, 13};
  const std::string gold = "Council approves budget";
  rollout::SimulatedGeneration s;
  s.completion_tokens = 40;
  s.decode_tokens_per_s = 1e9;  // no real sleep
  generation::GenerationStats stats;
  const auto out = rollout::SimulateCompletions(s, *tok, {stop}, {{&prompt, &seeds, &gold}}, &stats);
  ASSERT_EQ(out.size(), 1u);
  ASSERT_EQ(out[0].size(), seeds.size());
  for (size_t i = 0; i < seeds.size(); ++i) {
    const auto& c = out[0][i];
    EXPECT_EQ(c.tokens.size(), 40u);
    EXPECT_EQ(c.logprobs.size(), c.tokens.size());
    EXPECT_EQ(c.tokens.back(), stop);
    EXPECT_TRUE(c.stopped);
    const std::string text = tok->Decode(c.tokens, /*skip_special_tokens=*/true);
    EXPECT_EQ(text.rfind("<think>", 0), 0u) << text;
    const bool gold_answer = text.find("<answer>" + gold + "</answer>") != std::string::npos;
    EXPECT_EQ(gold_answer, seeds[i] % 2 == 1) << text;
  }
  EXPECT_EQ(stats.decode_tokens, 160);
  EXPECT_EQ(stats.prefill_tokens, 3);

  // A long tail: about a fifth of 1,000 seeds run 4x as long, as many odd as
  // even (so the long ones answer gold as often), and the decode steps are
  // the longest sample's.
  s.long_tail_fraction = 0.2;
  s.long_tail_factor = 4;
  s.decode_step_s = 1e-12;
  std::vector<uint64_t> many(1000);
  for (size_t i = 0; i < many.size(); ++i) many[i] = 1000 + i;
  generation::GenerationStats tail_stats;
  const auto tail = rollout::SimulateCompletions(s, *tok, {stop}, {{&prompt, &many, &gold}}, &tail_stats);
  int64_t long_odd = 0, long_even = 0;
  for (size_t i = 0; i < many.size(); ++i) {
    const size_t n = tail[0][i].tokens.size();
    ASSERT_TRUE(n == 40u || n == 160u) << n;
    EXPECT_EQ(n == 160u, rollout::IsLongTailSample(many[i], 0.2));
    EXPECT_EQ(tail[0][i].tokens.back(), stop);
    if (n == 160u) ++(many[i] % 2 ? long_odd : long_even);
  }
  EXPECT_GT(long_odd + long_even, 150);
  EXPECT_LT(long_odd + long_even, 250);
  EXPECT_GT(long_odd, 60);
  EXPECT_GT(long_even, 60);
  EXPECT_NEAR(tail_stats.decode_seconds, tail_stats.decode_tokens / 1e9 + 160 * 1e-12, 1e-15);
  s.long_tail_fraction = 0;
  s.decode_step_s = 0;

  // Shorter than the fixed parts: cut at the length, not stopped.
  s.completion_tokens = 3;
  const auto cut = rollout::SimulateCompletions(s, *tok, {stop}, {{&prompt, &seeds, &gold}}, nullptr);
  EXPECT_EQ(cut[0][0].tokens.size(), 3u);
  EXPECT_FALSE(cut[0][0].stopped);
}

TEST(SimulatedModelReward, TakesTheRewardModelsPlaceWithoutLoadingAnything) {
  config::RewardConfig rc;
  rc.w_pers = 0.5;
  rc.model = "/nonexistent/reward-model";  // never read under simulate
  config::SimulateConfig sim;
  sim.enabled = true;
  sim.reward_batch_s = 0;
  sim.reward_sequence_s = 0;
  auto scorer = reward_server::MakeRewardScorer(rc, sim);
  proto::ScoreRequest request;
  for (int i = 0; i < 3; ++i) {
    auto* item = request.add_items();
    item->set_query("Generate a headline for the following article: rain");
    item->set_completion("<think>x</think><answer>Rain</answer>");
    item->set_gold("Rain");
    item->set_task("LaMP_4");
  }
  const proto::ScoreReply reply = scorer->ScoreNow(request);
  ASSERT_EQ(reply.status(), proto::ScoreReply::OK) << reply.error();
  ASSERT_EQ(reply.items_size(), 3);
  bool named = false;
  for (const auto& c : reply.items(0).components()) named |= c.name() == "simulated_model";
  EXPECT_TRUE(named) << "the simulated model is one of the reward's components";
  EXPECT_EQ(reply.batch_items(), 3u) << "the three rode one simulated batch";
  // Without simulate the same section needs its model.
  EXPECT_THROW(reward_server::MakeRewardScorer(rc), std::exception);
  scorer->Stop();
}

TEST(SimulateConfig, RatesAreCheckedByKey) {
  const auto refused = [](const std::string& override_) {
    try {
      config::TrainConfig::Load("", {"model.policy=p", "data.dir=d", "simulate.enabled=true", override_}).Validate(0);
    } catch (const util::Error& e) {
      return std::string(e.what());
    }
    return std::string();
  };
  EXPECT_NE(refused("simulate.decode_tokens_per_s=0").find("simulate.decode_tokens_per_s"), std::string::npos);
  EXPECT_NE(refused("simulate.completion_tokens=0").find("simulate.completion_tokens"), std::string::npos);
  EXPECT_NE(refused("simulate.reward_batch_s=-1").find("simulate.reward_batch_s"), std::string::npos);
  EXPECT_NE(refused("simulate.long_tail_fraction=1.5").find("simulate.long_tail_fraction"), std::string::npos);
  EXPECT_NE(refused("simulate.long_tail_factor=0").find("simulate.long_tail_factor"), std::string::npos);
  EXPECT_NE(refused("simulate.decode_step_s=-1").find("simulate.decode_step_s"), std::string::npos);
  EXPECT_EQ(refused("simulate.completion_tokens=1"), "") << "and no reward model is needed (w_pers is 0.1)";
}

}  // namespace
}  // namespace prlm
