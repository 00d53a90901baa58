#include "learner/policy_batch.h"

#include <algorithm>
#include <map>

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
  // Rows with identical prompts (a GRPO group's samples) share one prefill.
  std::map<std::vector<int32_t>, int64_t> prompt_index;
  std::vector<int64_t> distinct, prompt_of(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) {
    const auto& p = mb.sequences(static_cast<int>(b)).prompt();
    const auto [it, inserted] =
        prompt_index.emplace(std::vector<int32_t>(p.begin(), p.end()), static_cast<int64_t>(distinct.size()));
    if (inserted) distinct.push_back(b);
    prompt_of[static_cast<size_t>(b)] = it->second;
  }
  PolicyBatch batch;
  if (static_cast<int64_t>(distinct.size()) < B) {
    batch.distinct_prompt_rows = torch::tensor(distinct, torch::kLong).to(device);
    batch.prompt_of_row = torch::tensor(prompt_of, torch::kLong).to(device);
  }
  batch.ids = ids.to(device);
  batch.mask = mask.to(device);
  batch.completion = ids.narrow(1, P, C).to(device);
  batch.completion_mask = cmask.to(device);
  batch.rollout_logprobs = rollout.to(device);
  batch.advantages = adv.to(device);
  batch.prompt_width = P;
  return batch;
}

namespace {

// The final hidden states [B, C, H] that predict the C completion tokens:
// those at positions P-1 .. P+C-2 of each row.
torch::Tensor PredictingHidden(model::Qwen2ForCausalLM& policy, const PolicyBatch& batch) {
  const int64_t T = batch.ids.size(1), P = batch.prompt_width, C = T - P;
  const auto positions = model::PositionsFromMask(batch.mask);
  if (!batch.prompt_of_row.defined()) {  // one forward over the whole rows
    return policy
        ->Forward(batch.ids, positions, model::AttentionBias(batch.mask, 0, T, torch::kFloat), nullptr)
        .narrow(1, P - 1, C);
  }
  // 1. Each distinct prompt once, its keys and values into a cache with room
  //    for the completions. Rows sharing a prompt share its padding too.
  const auto prompts = batch.ids.narrow(1, 0, P).index_select(0, batch.distinct_prompt_rows);
  const auto prompt_mask = batch.mask.narrow(1, 0, P).index_select(0, batch.distinct_prompt_rows);
  auto cache = policy->NewCache(prompts.size(0), T);
  const auto prompt_hidden = policy->Forward(prompts, model::PositionsFromMask(prompt_mask),
                                             model::AttentionBias(prompt_mask, 0, P, torch::kFloat), &cache);
  // 2. The cache repeated for the rows that share each prompt (differentiable:
  //    each row's gradient flows back to its prompt's keys and values).
  cache.SelectRows(batch.prompt_of_row);
  // 3. The completions over it.
  const auto completion_hidden =
      policy->Forward(batch.completion, positions.narrow(1, P, C),
                      model::AttentionBias(batch.mask, P, C, torch::kFloat), &cache);
  // The prompt's last position predicts completion token 0; completion
  // token t predicts token t+1.
  return torch::cat({prompt_hidden.narrow(1, P - 1, 1).index_select(0, batch.prompt_of_row),
                     completion_hidden.narrow(1, 0, C - 1)},
                    1);
}

}  // namespace

CompletionScores ScoreCompletions(model::Qwen2ForCausalLM& policy, const PolicyBatch& batch, double temperature,
                                  bool with_entropy, torch::ScalarType compute_dtype) {
  torch::Tensor hidden;
  {
    AutocastGuard autocast(batch.ids.device(), compute_dtype);
    hidden = PredictingHidden(policy, batch);
  }
  auto logits = policy->Logits(hidden.to(policy->model->embed_tokens->weight.scalar_type())).to(torch::kFloat);
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
