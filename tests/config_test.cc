// The training config: YAML plus dotted overrides into typed fields; every
// mistake (unknown key, wrong type, bad choice, malformed YAML, impossible
// layout) refused with the key and place named; the defaults are PrLM's.
#include <gtest/gtest.h>

#include "common/config/config_schema.h"
#include "common/config/train_config.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

using testing::ExpectErrorContaining;
using testing::TempDir;
using testing::WriteBytes;

const char* kMinimal =
    "model:\n  policy: /models/qwen\n"
    "data:\n  dir: /data/lamp4\n"
    "reward:\n  model: /models/rm\n";

TEST(TrainConfig, DefaultsArePrLMsAndOverridesApply) {
  TempDir dir;
  WriteBytes(dir / "c.yaml", std::string(kMinimal) + "grpo:\n  beta: 0.02\n  kl: k2\ntrainer:\n  seed: 7\n");
  const auto c =
      config::TrainConfig::Load(dir / "c.yaml", {"optim.lr=2e-6", "grpo.drop_zero_std_groups=true", "layout.rollout=2",
                                                 "layout.learners=1", "layout.retrieval=1", "layout.reward=1"});
  EXPECT_EQ(c.model.policy, "/models/qwen");
  EXPECT_EQ(c.grpo.group_size, 4);
  EXPECT_DOUBLE_EQ(c.grpo.beta, 0.02);
  EXPECT_EQ(c.grpo.kl, config::KlEstimator::kK2);
  EXPECT_DOUBLE_EQ(c.grpo.clip_eps_low, 0.2);
  EXPECT_DOUBLE_EQ(c.grpo.temperature, 0.7);
  EXPECT_DOUBLE_EQ(c.optim.lr, 2e-6);
  EXPECT_DOUBLE_EQ(c.optim.warmup_ratio, 0.1);
  EXPECT_DOUBLE_EQ(c.optim.min_lr_ratio, 0.1);
  EXPECT_DOUBLE_EQ(c.reward.w_fmt, 0.1);
  EXPECT_TRUE(c.grpo.drop_zero_std_groups);
  EXPECT_EQ(c.trainer.seed, 7);
  EXPECT_EQ(c.layout.total(), 6);
  EXPECT_NO_THROW(c.Validate(6));
  // The effective config round-trips through its YAML.
  WriteBytes(dir / "effective.yaml", c.ToYaml());
  const auto again = config::TrainConfig::Load(dir / "effective.yaml", {});
  EXPECT_EQ(again.ToYaml(), c.ToYaml());
  EXPECT_DOUBLE_EQ(again.optim.lr, 2e-6);
}

TEST(TrainConfig, MistakesNameTheKeyAndPlace) {
  TempDir dir;
  WriteBytes(dir / "typo.yaml", std::string(kMinimal) + "grpo:\n  betaa: 0.1\n");
  ExpectErrorContaining([&] { config::TrainConfig::Load(dir / "typo.yaml", {}); },
                        {"typo.yaml:8:3", "unknown config key 'grpo.betaa'", "grpo.beta", "grpo.clip_eps_low"});
  WriteBytes(dir / "section.yaml", std::string(kMinimal) + "grop:\n  beta: 0.1\n");
  ExpectErrorContaining([&] { config::TrainConfig::Load(dir / "section.yaml", {}); }, {"unknown config key 'grop'"});
  WriteBytes(dir / "type.yaml", std::string(kMinimal) + "grpo:\n  group_size: four\n");
  ExpectErrorContaining([&] { config::TrainConfig::Load(dir / "type.yaml", {}); },
                        {"type.yaml:8", "grpo.group_size must be an integer", "'four'"});
  WriteBytes(dir / "list.yaml", std::string(kMinimal) + "optim:\n  lr: [1, 2]\n");
  ExpectErrorContaining([&] { config::TrainConfig::Load(dir / "list.yaml", {}); }, {"optim.lr", "not a list"});
  WriteBytes(dir / "bad.yaml", "model: {policy: x\n");
  ExpectErrorContaining([&] { config::TrainConfig::Load(dir / "bad.yaml", {}); }, {"bad.yaml:", "not valid YAML"});
  WriteBytes(dir / "ok.yaml", kMinimal);
  ExpectErrorContaining([&] { config::TrainConfig::Load(dir / "ok.yaml", {"grpo.kl=k4"}); },
                        {"override 'grpo.kl=k4'", "grpo.kl must be one of k1, k2, k3"});
  ExpectErrorContaining([&] { config::TrainConfig::Load(dir / "ok.yaml", {"optim.lr"}); }, {"not dotted.key=value"});
  ExpectErrorContaining([&] { config::TrainConfig::Load(dir / "ok.yaml", {"trainer.lr=1e-6"}); },
                        {"unknown config key 'trainer.lr'", "trainer.seed"});
  ExpectErrorContaining([&] { config::TrainConfig::Load(dir / "ok.yaml", {"grpo.top_p=1.5"}); }, {"grpo.top_p"});
  ExpectErrorContaining([&] { config::TrainConfig::Load(dir / "ok.yaml", {"reward.model="}); },
                        {"reward.model", "w_pers"});
  ExpectErrorContaining([&] { config::TrainConfig::Load("", {}); }, {"model.policy", "required"});
}

// grpo.max_staleness >= 2 and partial rollouts run only on the elastic tier:
// they choose it when rollout.elastic is not given, and an explicit false is
// refused naming both keys.
TEST(TrainConfig, StalenessAboveOneChoosesTheElasticTierUnlessToldNot) {
  TempDir dir;
  WriteBytes(dir / "c.yaml", kMinimal);
  EXPECT_FALSE(config::TrainConfig::Load(dir / "c.yaml", {"grpo.max_staleness=1"}).rollout.elastic);
  EXPECT_TRUE(config::TrainConfig::Load(dir / "c.yaml", {"grpo.max_staleness=4"}).rollout.elastic);
  EXPECT_TRUE(config::TrainConfig::Load(dir / "c.yaml", {"grpo.max_staleness=1", "grpo.partial_rollouts=continue"})
                  .rollout.elastic);
  EXPECT_TRUE(config::TrainConfig::Load(dir / "c.yaml", {"rollout.elastic=true"}).rollout.elastic);
  ExpectErrorContaining(
      [&] {
        config::TrainConfig::Load(dir / "c.yaml", {"grpo.max_staleness=2", "rollout.elastic=false"});
      },
      {"grpo.max_staleness", "rollout.elastic=false refuses it"});
  WriteBytes(dir / "off.yaml", std::string(kMinimal) + "rollout:\n  elastic: false\n");
  ExpectErrorContaining([&] { config::TrainConfig::Load(dir / "off.yaml", {"grpo.max_staleness=3"}); },
                        {"grpo.max_staleness", "elastic tier"});
  // The effective config says which tier ran.
  const auto implied = config::TrainConfig::Load(dir / "c.yaml", {"grpo.max_staleness=2"});
  EXPECT_EQ(implied.ValueOf("rollout.elastic"), "true");
}

TEST(TrainConfig, LayoutMustFitTheWorld) {
  TempDir dir;
  WriteBytes(dir / "ok.yaml", kMinimal);
  const auto c = config::TrainConfig::Load(dir / "ok.yaml", {});
  const config::Layout l = c.ResolveLayout(8);  // 1 + 1 retrieval + 1 reward + 3 rollout + 2 learners
  EXPECT_EQ(l.retrieval, 1);
  EXPECT_EQ(l.reward, 1);
  EXPECT_EQ(l.rollout, 3);
  EXPECT_EQ(l.learners, 2);
  EXPECT_NO_THROW(c.Validate(8));
  ExpectErrorContaining([&] { c.Validate(4); }, {"at least 5 ranks", "has 4"});
  const auto fixed = config::TrainConfig::Load(
      dir / "ok.yaml", {"layout.retrieval=2", "layout.reward=1", "layout.rollout=2", "layout.learners=2"});
  ExpectErrorContaining([&] { fixed.Validate(6); }, {"layout", "= 8 ranks", "the job has 6"});
  ExpectErrorContaining([&] { config::TrainConfig::Load(dir / "ok.yaml", {"layout.rollout=2"}); },
                        {"layout.retrieval must be at least 1"});
  // retrieval.replicas: the default layout serves its one shard R times
  // (from the rollout side); a given layout must hold whole replicas.
  const auto replicated = config::TrainConfig::Load(dir / "ok.yaml", {"retrieval.replicas=2"});
  const config::Layout r = replicated.ResolveLayout(8);
  EXPECT_EQ(r.retrieval, 2);
  EXPECT_EQ(r.total(), 8);
  EXPECT_NO_THROW(replicated.Validate(8));
  ExpectErrorContaining(
      [&] {
        config::TrainConfig::Load(dir / "ok.yaml", {"retrieval.replicas=2", "layout.retrieval=3", "layout.reward=1",
                                                    "layout.rollout=1", "layout.learners=1"});
      },
      {"retrieval.replicas must divide layout.retrieval (3 ranks"});
  ExpectErrorContaining([&] { config::TrainConfig::Load(dir / "ok.yaml", {"retrieval.replicas=0"}); },
                        {"retrieval.replicas must be at least 1"});
}

TEST(ConfigSchema, DescribeListsEveryKeyWithDefault) {
  const std::string d = config::TrainConfig::Describe();
  EXPECT_NE(d.find("grpo.beta (number, default 0.04)"), std::string::npos) << d.substr(0, 400);
  EXPECT_NE(d.find("grpo.kl (k1|k2|k3, default k3)"), std::string::npos);
}

}  // namespace
}  // namespace prlm
