// Multi-rank tests of the learners' data parallelism and weight sync, run
// under mpirun by ctest with 3 ranks:
//  - ranks 0 and 1 are two learners, each with half of a step's
//    micro-batches; rank 2 is one learner with all of them. After the step
//    the three must hold the same weights (to float tolerance; 0 and 1 bit
//    for bit), for full fine-tuning with a KL reference and for LoRA;
//  - the bucketed broadcast leaves every rank bit-identical to the root,
//    with the version stamp, and the bucketed all-reduce sums.
#include <gtest/gtest.h>

#include <numeric>
#include <random>

#include "common/comm/mpi_job.h"
#include "common/comm/tensor_collectives.h"
#include "common/model/pretrained.h"
#include "coordinator/batch_plan.h"
#include "learner/policy_learner.h"
#include "tests/mpi/mpi_test_main.h"

namespace prlm {
namespace {

int Rank() {
  int r;
  MPI_Comm_rank(MPI_COMM_WORLD, &r);
  return r;
}

model::CausalLM TinyPolicy() {
  auto cfg = model::DecoderPreset("tiny", 64);
  cfg.num_hidden_layers = 2;
  model::CausalLM m(cfg);
  model::InitializeWeights(*m, 0.02, 7);
  return m;
}

// A step's 12 sequences (ragged prompts and completions, mixed advantages),
// the same on every rank.
std::vector<proto::TrainSequence> Sequences() {
  std::mt19937 rng(11);
  std::vector<proto::TrainSequence> out;
  for (int i = 0; i < 12; ++i) {
    proto::TrainSequence s;
    const int p = 3 + static_cast<int>(rng() % 6), c = 1 + static_cast<int>(rng() % 7);
    for (int t = 0; t < p; ++t) s.add_prompt(static_cast<int32_t>(1 + rng() % 60));
    for (int t = 0; t < c; ++t) s.add_completion(static_cast<int32_t>(1 + rng() % 60));
    s.set_advantage(static_cast<double>(static_cast<int>(rng() % 5) - 2) * 0.5);
    out.push_back(std::move(s));
  }
  return out;
}

// This rank's LearnStep: micro-batches planned once, dealt over `learners`.
proto::LearnStep StepFor(int learners, int my_index) {
  const auto seqs = Sequences();
  std::vector<int64_t> tokens;
  for (const auto& s : seqs) tokens.push_back(s.prompt_size() + s.completion_size());
  std::vector<int64_t> own_group(tokens.size());  // every prompt differs
  std::iota(own_group.begin(), own_group.end(), 0);
  const auto plan = coordinator::PlanMicroBatches(tokens, own_group, 3);
  std::vector<int64_t> mb_tokens;
  for (const auto& mb : plan) {
    int64_t t = 0;
    for (size_t i : mb) t += tokens[i];
    mb_tokens.push_back(t);
  }
  const auto owner = coordinator::AssignToLearners(mb_tokens, learners);
  proto::LearnStep step;
  step.set_global_micro_batches(static_cast<int64_t>(plan.size()));
  for (size_t mb = 0; mb < plan.size(); ++mb) {
    if (owner[mb] != my_index) continue;
    auto* out = step.add_micro_batches();
    for (size_t i : plan[mb]) *out->add_sequences() = seqs[i];
  }
  return step;
}

torch::Tensor Flat(const std::vector<torch::Tensor>& ts) {
  std::vector<torch::Tensor> views;
  for (const auto& t : ts) views.push_back(t.detach().reshape(-1));
  return torch::cat(views).contiguous();
}

// Runs one step on ranks {0,1} (two learners) and {2} (one); returns this
// rank's trainable weights after it and before it.
std::pair<torch::Tensor, torch::Tensor> StepOnEveryRank(bool lora) {
  const int rank = Rank();
  const bool pair = rank < 2;
  MPI_Comm group;
  MPI_Comm_split(MPI_COMM_WORLD, pair ? 0 : 1, rank, &group);
  config::TrainConfig c;
  c.optim.lr = 1e-2;
  c.optim.warmup_ratio = 0;
  c.grpo.beta = 0.04;
  c.grpo.temperature = 0.7;
  c.lora.rank = lora ? 4 : 0;
  c.lora.dropout = 0;     // dropout draws differ per rank: off for an exact comparison
  torch::manual_seed(3);  // LoRA's A initialisation
  learner::PolicyLearner learner(TinyPolicy(), lora ? model::CausalLM(nullptr) : TinyPolicy(), c,
                                 /*total_steps=*/10);
  const auto before = Flat(learner.TrainableParameters()).clone();
  comm::TensorCollectives grads(group, "learners");
  const auto step = StepFor(pair ? 2 : 1, pair ? rank : 0);
  learner.Step(step, [&](const std::vector<torch::Tensor>& t) { grads.AllReduceSum(t, std::chrono::seconds(60)); });
  MPI_Comm_free(&group);
  return {Flat(learner.TrainableParameters()), before};
}

void ExpectSameUpdate(bool lora) {
  auto [after, before] = StepOnEveryRank(lora);
  EXPECT_GT((after - before).abs().max().item<double>(), 1e-4) << "the step must move the weights";
  // Rank 2's weights to ranks 0 and 1.
  torch::Tensor solo = Rank() == 2 ? after.clone() : torch::empty_like(after);
  MPI_Bcast(solo.data_ptr(), static_cast<int>(solo.numel()), MPI_FLOAT, 2, MPI_COMM_WORLD);
  torch::Tensor first = Rank() == 0 ? after.clone() : torch::empty_like(after);
  MPI_Bcast(first.data_ptr(), static_cast<int>(first.numel()), MPI_FLOAT, 0, MPI_COMM_WORLD);
  const double diff = (after - solo).abs().max().item<double>();
  EXPECT_LT(diff, 1e-5) << "rank " << Rank() << ": 2 learners vs 1 differ by " << diff;
  if (Rank() == 1) {
    EXPECT_TRUE(torch::equal(after, first)) << "the two replicas must stay bit-identical";
  }
}

TEST(DataParallel, TwoLearnersWithHalfTheBatchEqualOneWithAllFullFineTuning) { ExpectSameUpdate(false); }
TEST(DataParallel, TwoLearnersWithHalfTheBatchEqualOneWithAllLora) { ExpectSameUpdate(true); }

TEST(WeightSync, BucketedBroadcastLeavesEveryRankBitIdentical) {
  // The root's weights: random, several dtypes and sizes, over many buckets.
  auto make = [](bool root) {
    torch::manual_seed(root ? 5 : 100 + Rank());
    return std::vector<torch::Tensor>{torch::randn({300, 7}), torch::randn({5}), torch::randn({64, 64}),
                                      torch::randn({3, 3}).to(torch::kBFloat16), torch::randn({1000})};
  };
  auto mine = make(Rank() == 0);
  const auto expected = make(true);
  comm::TensorCollectives sync(MPI_COMM_WORLD, "weight sync", 8 * 1024);
  int64_t version = Rank() == 0 ? 42 : -1;
  comm::BroadcastWeights(sync, &version, mine, std::chrono::seconds(60));
  EXPECT_EQ(version, 42);
  EXPECT_GE(sync.last_buckets(), 4u) << "8 KiB buckets over ~26 KB must take several messages";
  EXPECT_LE(sync.last_buckets(), 8u) << "but not one per tensor piece";
  for (size_t i = 0; i < mine.size(); ++i) EXPECT_TRUE(torch::equal(mine[i], expected[i])) << "tensor " << i;
}

TEST(WeightSync, PolicyWeightsReachRolloutsExactly) {
  // A learner's policy after a step, broadcast into fresh copies elsewhere.
  auto policy = TinyPolicy();
  auto params = policy->parameters();
  if (Rank() == 0) {
    torch::NoGradGuard no_grad;
    for (auto& p : params) p.add_(torch::randn_like(p) * 1e-3);
  }
  comm::TensorCollectives sync(MPI_COMM_WORLD, "weight sync");
  int64_t version = Rank() == 0 ? 7 : 0;
  comm::BroadcastWeights(sync, &version, params, std::chrono::seconds(60));
  const auto mine = Flat(params);
  torch::Tensor root = Rank() == 0 ? mine.clone() : torch::empty_like(mine);
  MPI_Bcast(root.data_ptr(), static_cast<int>(root.numel()), MPI_FLOAT, 0, MPI_COMM_WORLD);
  EXPECT_TRUE(torch::equal(mine, root));
  EXPECT_EQ(version, 7);
  EXPECT_LE(sync.last_buckets(), 2u) << "a 2-layer model fits one 32 MiB bucket (plus the version's)";
}

TEST(AllReduce, BucketedSumOverRanks) {
  std::vector<torch::Tensor> ts{torch::full({100}, Rank() + 1.0), torch::full({7, 3}, 2.0 * Rank()),
                                torch::full({4}, 1.0).to(torch::kBFloat16)};
  comm::TensorCollectives group(MPI_COMM_WORLD, "learners", 256);
  group.AllReduceSum(ts, std::chrono::seconds(60));
  EXPECT_TRUE(torch::allclose(ts[0], torch::full({100}, 6.0)));
  EXPECT_TRUE(torch::allclose(ts[1], torch::full({7, 3}, 6.0)));
  EXPECT_TRUE(torch::allclose(ts[2].to(torch::kFloat), torch::full({4}, 3.0)));
  EXPECT_EQ(ts[2].scalar_type(), torch::kBFloat16);
}

}  // namespace
}  // namespace prlm

int main(int argc, char** argv) {
  prlm::comm::MpiJob job(&argc, &argv);
  torch::set_num_threads(1);
  return prlm::testing::RunMpiTests(job.rank(), &argc, argv);
}
