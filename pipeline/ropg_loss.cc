#include "pipeline/ropg_loss.h"

#include "common/util/check.h"

namespace prlm::pipeline {
namespace {

void CheckPair(const at::Tensor& scores, const at::Tensor& other, const char* what, const char* fn) {
  PRLM_REQUIRE(scores.dim() == 2 && scores.size(1) >= 1, fn << ": scores must be [Q, N], got " << scores.sizes());
  PRLM_REQUIRE(other.sizes() == scores.sizes(),
               fn << ": " << what << " " << other.sizes() << " must match the scores " << scores.sizes());
}

}  // namespace

at::Tensor RopgRlLoss(const at::Tensor& scores, const at::Tensor& utilities, const at::Tensor& sampled) {
  CheckPair(scores, utilities, "utilities", "RopgRlLoss");
  PRLM_REQUIRE(sampled.dim() == 1 && sampled.size(0) == scores.size(0) && sampled.scalar_type() == torch::kLong,
               "RopgRlLoss: sampled must be [Q] long, got " << sampled.sizes());
  PRLM_REQUIRE(
      sampled.numel() == 0 || (sampled.min().item<int64_t>() >= 0 && sampled.max().item<int64_t>() < scores.size(1)),
      "RopgRlLoss: a sampled index is outside [0, " << scores.size(1) << ")");
  const auto index = sampled.to(scores.device()).unsqueeze(1);
  const auto log_p = torch::log_softmax(scores, 1).gather(1, index).squeeze(1);
  const auto u = utilities.to(scores.device(), scores.scalar_type()).detach();
  const auto advantage = u.gather(1, index).squeeze(1) - u.select(1, 0);
  return -(log_p * advantage).mean();
}

at::Tensor KdLossFromTeacher(const at::Tensor& scores, const at::Tensor& teacher, double temperature) {
  CheckPair(scores, teacher, "teacher", "KdLossFromTeacher");
  PRLM_REQUIRE(temperature > 0, "KdLossFromTeacher: temperature must be > 0, got " << temperature);
  const auto t = teacher.to(scores.device(), scores.scalar_type()).detach();
  const auto log_student = torch::log_softmax(scores / temperature, 1);
  // KL(t || s) = sum t (log t - log s), with 0 log 0 = 0.
  const auto log_t = torch::where(t > 0, torch::log(t.clamp_min(1e-45)), torch::zeros_like(t));
  return (t * (log_t - log_student)).sum(1).mean();
}

at::Tensor RopgKdLoss(const at::Tensor& scores, const at::Tensor& utilities, double temperature) {
  CheckPair(scores, utilities, "utilities", "RopgKdLoss");
  PRLM_REQUIRE(temperature > 0, "RopgKdLoss: temperature must be > 0, got " << temperature);
  const auto teacher = torch::softmax(utilities.to(scores.scalar_type()).detach() / temperature, 1);
  return KdLossFromTeacher(scores, teacher, temperature);
}

}  // namespace prlm::pipeline
