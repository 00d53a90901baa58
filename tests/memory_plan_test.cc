// `prlm plan`'s arithmetic (coordinator/memory_plan.h) on the paper's policy
// shape: parameter and LoRA counts against the published ones, the parts a
// learner and a rollout worker hold, placement over nodes and GPUs, the
// refusal naming the rank and its parts, and bad input. The estimates
// against measured peak memory are in train_test.cc (they need jobs).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <functional>
#include <map>

#include "common/config/train_config.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "coordinator/memory_plan.h"
#include "tests/test_util.h"

namespace prlm {
namespace {

using coordinator::MemoryPlan;
using coordinator::PlanMemory;
using coordinator::PlanTarget;

// DeepSeek-R1-Distill-Qwen-1.5B's config.json fields that size it.
void WriteR1DistillQwen15B(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << R"({"model_type": "qwen2", "vocab_size": 151936, "hidden_size": 1536,
    "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2,
    "max_position_embeddings": 131072, "rms_norm_eps": 1e-06, "rope_theta": 10000, "tie_word_embeddings": false,
    "torch_dtype": "bfloat16"})";
}

// bert-base-uncased's config.json (the reward model's shape in the paper).
void WriteBertBase(const std::string& dir) {
  std::filesystem::create_directories(dir);
  std::ofstream(dir + "/config.json") << R"({"model_type": "bert", "vocab_size": 30522, "hidden_size": 768,
    "intermediate_size": 3072, "num_hidden_layers": 12, "num_attention_heads": 12, "max_position_embeddings": 512,
    "type_vocab_size": 2})";
}

config::TrainConfig ConfigOf(const std::string& policy, std::vector<std::string> overrides = {}) {
  overrides.push_back("model.policy=" + policy);
  overrides.push_back("data.dir=" + policy);  // read only for its size
  WriteBertBase(policy + "/../bert");
  overrides.insert(overrides.begin(), "reward.model=" + policy + "/../bert");
  return config::TrainConfig::Load("", overrides);
}

int64_t Part(const MemoryPlan& plan, const std::string& role, const std::string& part) {
  for (const auto& r : plan.roles)
    if (r.role == role)
      for (const auto& p : r.parts)
        if (p.name == part) return p.bytes;
  return 0;
}

constexpr int64_t kGiB = 1LL << 30;

// `f` throws util::Error with `needle` in its message.
void ExpectError(const std::function<void()>& f, const std::string& needle) {
  try {
    f();
  } catch (const util::Error& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    return;
  }
  ADD_FAILURE() << "no error; expected one naming " << needle;
}

TEST(MemoryPlan, CountsThePapersPolicyAsPublished) {
  testing::TempDir dir;
  WriteR1DistillQwen15B(dir / "r1");
  // Hugging Face's model card: 1.78B parameters (1,777,088,000 in its
  // safetensors); PEFT prints 18,464,768 trainable for LoRA r 16 on all
  // linear layers of this shape.
  const MemoryPlan full = PlanMemory(ConfigOf(dir / "r1"), PlanTarget{});
  EXPECT_EQ(full.parameters, 1777088000);
  EXPECT_EQ(full.trainable, 1777088000);
  const MemoryPlan lora = PlanMemory(ConfigOf(dir / "r1", {"lora.rank=16"}), PlanTarget{});
  EXPECT_EQ(lora.trainable, 18464768);
  // bert-base-uncased: 109,482,240 parameters (BertModel), and the reward head's 768 + 1.
  EXPECT_EQ(Part(full, "reward", "reward model"), 4 * (109482240LL + 769));

  // Full fine-tuning: fp32 weights, the frozen reference, gradients, AdamW's two moments.
  EXPECT_EQ(Part(full, "learner", "weights"), 4 * 1777088000LL);
  EXPECT_EQ(Part(full, "learner", "reference"), 4 * 1777088000LL);
  EXPECT_EQ(Part(full, "learner", "gradients"), 4 * 1777088000LL);
  EXPECT_EQ(Part(full, "learner", "optimizer"), 8 * 1777088000LL);
  // LoRA: no reference copy (the adapters are switched off instead), small gradients and moments.
  EXPECT_EQ(Part(lora, "learner", "reference"), 0);
  EXPECT_EQ(Part(lora, "learner", "gradients"), 4 * 18464768LL);
  // beta 0: no reference at all.
  EXPECT_EQ(Part(PlanMemory(ConfigOf(dir / "r1", {"grpo.beta=0"}), PlanTarget{}), "learner", "reference"), 0);
  // Shared prompts: 2 groups of 4 in a micro-batch of 8 run 2 prompts, not 8.
  const MemoryPlan m8 = PlanMemory(ConfigOf(dir / "r1", {"trainer.micro_batch_size=8"}), PlanTarget{});
  EXPECT_EQ(m8.learner_tokens_whole, 8 * (512 + 768));
  EXPECT_EQ(m8.learner_tokens_shared, 2 * 512 + 8 * 768);
  EXPECT_GT(Part(m8, "learner", "activations"), Part(full, "learner", "activations"));
}

TEST(MemoryPlan, RolloutHoldsPackedWeightsOnCpuAndTheWholeKvPoolOnGpu) {
  testing::TempDir dir;
  WriteR1DistillQwen15B(dir / "r1");
  const auto config = ConfigOf(dir / "r1", {"trainer.prompts_per_step=8"});
  const MemoryPlan cpu = PlanMemory(config, PlanTarget{});
  EXPECT_EQ(Part(cpu, "rollout", "weights"), 4 * 1777088000LL);
  EXPECT_GT(Part(cpu, "rollout", "packed weights"), 3 * 1777088000LL);  // every linear layer and the head
  PlanTarget gpu;
  gpu.gpus_per_node = 1;
  const MemoryPlan on_gpu = PlanMemory(config, gpu);
  EXPECT_EQ(Part(on_gpu, "rollout", "weights"), 2 * 1777088000LL) << "auto on a GPU is bf16";
  EXPECT_EQ(Part(on_gpu, "rollout", "packed weights"), 0);
  // The pool for one worker's 8 prompts x 4 samples at (512 + 768) tokens:
  // 32 x (80 + 1) blocks of 16, 28 layers x K and V x 2 heads x 128 x bf16.
  EXPECT_EQ(Part(on_gpu, "rollout", "KV cache"), 32LL * 81 * 16 * (28 * 2 * 2 * 128 * 2));
  // On the host only what is written counts: the prompts once, the completions per sample.
  EXPECT_LT(Part(cpu, "rollout", "KV cache"), 2 * Part(on_gpu, "rollout", "KV cache"));
}

TEST(MemoryPlan, PlacesRanksInBlocksAndModelRanksOnTheNodesGpus) {
  testing::TempDir dir;
  WriteR1DistillQwen15B(dir / "r1");
  PlanTarget t;
  t.nodes = 2;
  t.gpus_per_node = 2;
  t.gpu_bytes = 80 * kGiB;
  // 8 ranks: coordinator, retrieval, reward, rollout 0 on node 0; rollout 1-2, learners 0-1 on node 1.
  const MemoryPlan plan = PlanMemory(ConfigOf(dir / "r1", {"lora.rank=16", "layout.retrieval=1", "layout.reward=1",
                                                           "layout.rollout=3", "layout.learners=2"}),
                                     t);
  nlohmann::json j = nlohmann::json::parse(coordinator::PlanJson(plan));
  std::map<std::string, std::vector<std::string>> at;
  for (const auto& p : j["placed"]) at[p["where"]] = p["ranks"].get<std::vector<std::string>>();
  EXPECT_EQ(at["node 0 GPU 0"], (std::vector<std::string>{"rollout 0 (rank 3)"}));
  EXPECT_TRUE(at["node 0 GPU 1"].empty());
  EXPECT_EQ(at["node 1 GPU 0"], (std::vector<std::string>{"rollout 1 (rank 4)", "learner 0 (rank 6)"}));
  EXPECT_EQ(at["node 1 GPU 1"], (std::vector<std::string>{"rollout 2 (rank 5)", "learner 1 (rank 7)"}));
  EXPECT_EQ(at["node 0"].size(), 4u);
  EXPECT_EQ(at["node 1"].size(), 4u);
}

TEST(MemoryPlan, RefusesALayoutThatCannotFitNamingTheRankAndItsParts) {
  testing::TempDir dir;
  WriteR1DistillQwen15B(dir / "r1");
  PlanTarget t;
  t.gpus_per_node = 2;
  t.gpu_bytes = 40 * kGiB;
  // Full fine-tuning: 4 x 7.1 GB of weights, reference, gradients and twice for AdamW exceed 40 GiB.
  const MemoryPlan full = PlanMemory(ConfigOf(dir / "r1"), t);
  EXPECT_NE(full.refusal.find("node 0 GPU 1 needs"), std::string::npos) << full.refusal;
  EXPECT_NE(full.refusal.find("learner 0 (rank 4)"), std::string::npos) << full.refusal;
  EXPECT_NE(full.refusal.find("optimizer 13.24 GiB"), std::string::npos) << full.refusal;
  EXPECT_EQ(full.refusal.find("GPU 0 needs"), std::string::npos) << "the rollout worker's GPU fits: " << full.refusal;
  // LoRA at a micro-batch of 2 fits the same GPUs.
  const MemoryPlan lora = PlanMemory(ConfigOf(dir / "r1", {"lora.rank=16", "trainer.micro_batch_size=2"}), t);
  EXPECT_EQ(lora.refusal, "");
  // And the host: the same job on a 16 GiB host without GPUs is refused for the host.
  PlanTarget host;
  host.host_bytes = 16 * kGiB;
  const MemoryPlan cpu = PlanMemory(ConfigOf(dir / "r1", {"lora.rank=16"}), host);
  EXPECT_NE(cpu.refusal.find("node 0 needs"), std::string::npos) << cpu.refusal;
}

TEST(MemoryPlan, BadInputIsNamed) {
  testing::TempDir dir;
  std::filesystem::create_directories(dir / "empty");
  ExpectError([&] { PlanMemory(ConfigOf(dir / "empty"), PlanTarget{}); }, "model.policy");
  ExpectError([&] { PlanMemory(ConfigOf(dir / "empty"), PlanTarget{}); }, "no config.json");
  WriteR1DistillQwen15B(dir / "r1");
  std::string text = util::ReadFile(dir / "r1/config.json");
  text.replace(text.find("\"hidden_size\": 1536"), 19, "\"hidden_size\": \"wide\"");
  std::ofstream(dir / "r1/config.json") << text;
  ExpectError([&] { PlanMemory(ConfigOf(dir / "r1"), PlanTarget{}); }, "hidden_size");
  WriteR1DistillQwen15B(dir / "r2");
  PlanTarget t;
  t.nodes = 9;
  ExpectError([&] { PlanMemory(ConfigOf(dir / "r2"), t); }, "--nodes 9");
  ExpectError([&] { PlanMemory(ConfigOf(dir / "r2", {"reward.model=" + (dir / "empty")}), PlanTarget{}); },
              "reward.model");
  EXPECT_EQ(coordinator::ParseByteSize("80GiB"), 80 * kGiB);
  EXPECT_EQ(coordinator::ParseByteSize("1.5GB"), 1500000000);
  EXPECT_EQ(coordinator::ParseByteSize("512MiB"), 512LL << 20);
  ExpectError([&] { coordinator::ParseByteSize("80 apples"); }, "unknown unit");
  ExpectError([&] { coordinator::ParseByteSize("lots"); }, "not a size");
}

}  // namespace
}  // namespace prlm
