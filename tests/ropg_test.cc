// ROPG's retriever losses (common/objective/ropg_loss.h) against
// hand-computed values: the RL loss and its gradient, a zero advantage for
// the first-stage top, KD's KL, KD with a one-hot teacher equal to the
// cross-entropy of its target, and shapes refused by name.
#include <gtest/gtest.h>
#include <torch/torch.h>

#include <cmath>

#include "common/objective/ropg_loss.h"
#include "tests/test_util.h"

namespace prlm::objective {
namespace {

using testing::ExpectErrorContaining;

TEST(RopgLoss, RlIsMinusLogProbabilityTimesTheAdvantageOverTheFirstCandidate) {
  auto scores = torch::tensor({{0.0, 1.0, 2.0}}, torch::kDouble).set_requires_grad(true);
  const auto utilities = torch::tensor({{0.2, 0.5, 0.9}}, torch::kDouble);
  const double lse = std::log(std::exp(0.0) + std::exp(1.0) + std::exp(2.0));
  const auto loss = RopgRlLoss(scores, utilities, torch::tensor({2}, torch::kLong));
  EXPECT_NEAR(loss.item<double>(), -(2.0 - lse) * (0.9 - 0.2), 1e-12);
  loss.backward();
  // d/ds_j of -A log p(d) = -A (1[j = d] - p_j).
  for (int j = 0; j < 3; ++j) {
    const double p = std::exp(j - lse);
    EXPECT_NEAR(scores.grad()[0][j].item<double>(), -0.7 * ((j == 2) - p), 1e-12) << j;
  }
  // Drawing the first-stage top has no advantage; a worse draw pushes it down.
  EXPECT_NEAR(RopgRlLoss(scores, utilities, torch::tensor({0}, torch::kLong)).item<double>(), 0.0, 1e-12);
  const auto two = torch::tensor({{0.0, 0.0}, {1.0, 0.0}}, torch::kDouble);
  const auto u2 = torch::tensor({{1.0, 0.0}, {0.0, 1.0}}, torch::kDouble);
  const double want = (-(std::log(0.5)) * (0.0 - 1.0) + -(0.0 - std::log(1 + std::exp(1.0))) * (1.0 - 0.0)) / 2;
  EXPECT_NEAR(RopgRlLoss(two, u2, torch::tensor({1, 1}, torch::kLong)).item<double>(), want, 1e-12)
      << "the mean over questions";
}

TEST(RopgLoss, KdIsTheKlFromTheUtilityTeacherToTheRetriever) {
  const auto scores = torch::tensor({{1.0, 0.0}}, torch::kDouble);
  const auto utilities = torch::tensor({{0.0, 1.0}}, torch::kDouble);
  const double T = 2;
  const double t0 = 1 / (1 + std::exp(0.5)), t1 = 1 - t0;  // softmax(0, 0.5)
  const double s0 = 1 / (1 + std::exp(-0.5)), s1 = 1 - s0;  // softmax(0.5, 0)
  EXPECT_NEAR(RopgKdLoss(scores, utilities, T).item<double>(),
              t0 * std::log(t0 / s0) + t1 * std::log(t1 / s1), 1e-12);
  EXPECT_NEAR(RopgKdLoss(utilities, utilities, T).item<double>(), 0.0, 1e-12) << "student = teacher";
  // A one-hot teacher: the cross-entropy of its target.
  const auto logits = torch::tensor({{0.3, -1.2, 2.0}, {1.0, 0.5, -0.5}}, torch::kDouble);
  const auto target = torch::tensor({2, 0}, torch::kLong);
  const auto one_hot = torch::one_hot(target, 3).to(torch::kDouble);
  EXPECT_NEAR(KdLossFromTeacher(logits, one_hot, 1.0).item<double>(),
              torch::nn::functional::cross_entropy(logits, target).item<double>(), 1e-12);
}

TEST(RopgLoss, ShapesAndArgumentsAreRefusedByName) {
  const auto s = torch::zeros({2, 3});
  ExpectErrorContaining([&] { RopgRlLoss(s, torch::zeros({2, 4}), torch::zeros({2}, torch::kLong)); },
                        {"RopgRlLoss", "utilities", "must match the scores"});
  ExpectErrorContaining([&] { RopgRlLoss(s, torch::zeros({2, 3}), torch::tensor({0, 3}, torch::kLong)); },
                        {"RopgRlLoss", "outside [0, 3)"});
  ExpectErrorContaining([&] { RopgKdLoss(s, torch::zeros({2, 3}), 0); }, {"RopgKdLoss", "temperature must be > 0"});
  ExpectErrorContaining([&] { RopgKdLoss(torch::zeros({3}), torch::zeros({3}), 1); }, {"scores must be [Q, N]"});
}

}  // namespace
}  // namespace prlm::objective
