#include "learner/policy_batch.h"

#include <algorithm>

#include "common/util/check.h"
#include "learner/autocast.h"

namespace prlm::learner {

int64_t PolicyBatch::tokens() const { return static_cast<int64_t>(completion_mask.sum().item<double>()); }

PolicyBatch MakePolicyBatch(const proto::MicroBatch& mb, torch::Device device, int32_t pad_id) {
  const int64_t B = mb.sequences_size();
  PRLM_REQUIRE(B > 0, "learner: an empty micro-batch");
  int64_t P = 0, C = 0;
  for (int64_t b = 0; b < B; ++b) {
    const auto& s = mb.sequences(static_cast<int>(b));
    PRLM_REQUIRE(s.prompt_size() > 0 && s.completion_size() > 0,
                 "learner: sequence " << b << " has an empty prompt or completion");
    PRLM_REQUIRE(s.rollout_logprobs_size() == 0 || s.rollout_logprobs_size() == s.completion_size(),
                 "learner: sequence " << b << " has " << s.rollout_logprobs_size() << " rollout log-probs for "
                                      << s.completion_size() << " completion tokens");
    P = std::max<int64_t>(P, s.prompt_size());
    C = std::max<int64_t>(C, s.completion_size());
  }
  auto ids = torch::full({B, P + C}, pad_id, torch::kLong);
  auto mask = torch::zeros({B, P + C}, torch::kLong);
  auto cmask = torch::zeros({B, C}, torch::kFloat);
  auto rollout = torch::zeros({B, C}, torch::kFloat);
  auto adv = torch::zeros({B}, torch::kFloat);
  auto ia = ids.accessor<int64_t, 2>();
  auto ma = mask.accessor<int64_t, 2>();
  auto ca = cmask.accessor<float, 2>();
  auto ra = rollout.accessor<float, 2>();
  for (int64_t b = 0; b < B; ++b) {
    const auto& s = mb.sequences(static_cast<int>(b));
    const int64_t off = P - s.prompt_size();
    for (int i = 0; i < s.prompt_size(); ++i) ia[b][off + i] = s.prompt(i), ma[b][off + i] = 1;
    for (int t = 0; t < s.completion_size(); ++t) {
      ia[b][P + t] = s.completion(t);
      ma[b][P + t] = 1;
      ca[b][t] = 1;
      if (s.rollout_logprobs_size()) ra[b][t] = s.rollout_logprobs(t);
    }
    adv[b] = static_cast<float>(s.advantage());
  }
  PolicyBatch batch;
  batch.ids = ids.to(device);
  batch.mask = mask.to(device);
  batch.completion = ids.narrow(1, P, C).to(device);
  batch.completion_mask = cmask.to(device);
  batch.rollout_logprobs = rollout.to(device);
  batch.advantages = adv.to(device);
  batch.prompt_width = P;
  return batch;
}

CompletionScores ScoreCompletions(model::Qwen2ForCausalLM& policy, const PolicyBatch& batch, double temperature,
                                  bool with_entropy, torch::ScalarType compute_dtype) {
  const int64_t T = batch.ids.size(1), P = batch.prompt_width, C = T - P;
  torch::Tensor hidden;
  {
    AutocastGuard autocast(batch.ids.device(), compute_dtype);
    hidden = policy->Forward(batch.ids, model::PositionsFromMask(batch.mask),
                             model::AttentionBias(batch.mask, 0, T, torch::kFloat), nullptr);
  }
  // Positions P-1 .. T-2 predict the completion tokens at P .. T-1.
  auto logits = policy->Logits(hidden.narrow(1, P - 1, C).to(policy->model->embed_tokens->weight.scalar_type()))
                    .to(torch::kFloat);
  if (temperature != 1.0) logits = logits / temperature;
  const auto lse = logits.logsumexp(-1);
  CompletionScores out;
  out.logprobs = (logits.gather(-1, batch.completion.unsqueeze(-1)).squeeze(-1) - lse) * batch.completion_mask;
  if (with_entropy) {
    torch::NoGradGuard no_grad;
    // H = logsumexp(x) - sum softmax(x) * x.
    out.entropy = (lse - (logits.softmax(-1) * logits).sum(-1)).detach() * batch.completion_mask;
  }
  return out;
}

}  // namespace prlm::learner
