#include "learner/policy_batch.h"

#include <algorithm>
#include <map>

#include "common/util/check.h"
#include "learner/autocast.h"

namespace prlm::learner {

int64_t PolicyBatch::tokens() const { return static_cast<int64_t>(completion_mask.sum().item<double>()); }

namespace {

// Fills the shared-prompt fields of `batch` (policy_batch.h) when rows share
// prompt tokens; leaves them undefined otherwise.
void SetSharedPromptTokens(const proto::MicroBatch& mb, torch::Device device, int32_t pad_id, PolicyBatch* batch) {
  const int B = mb.sequences_size();
  if (B < 2) return;
  // 1. The distinct prompts, and each row's.
  std::map<std::vector<int32_t>, int64_t> index_of;
  std::vector<const std::vector<int32_t>*> distinct;
  std::vector<int64_t> prompt_of(static_cast<size_t>(B));
  for (int b = 0; b < B; ++b) {
    const auto& p = mb.sequences(b).prompt();
    const auto [it, inserted] =
        index_of.emplace(std::vector<int32_t>(p.begin(), p.end()), static_cast<int64_t>(distinct.size()));
    if (inserted) distinct.push_back(&it->first);
    prompt_of[static_cast<size_t>(b)] = it->second;
  }
  // 2. Their common prefix, leaving every prompt at least one token of rest
  //    (its last token predicts the completion's first).
  size_t L = distinct[0]->size() - 1;
  for (const auto* p : distinct) {
    L = std::min(L, p->size() - 1);
    L = static_cast<size_t>(
        std::mismatch(distinct[0]->begin(), distinct[0]->begin() + static_cast<int64_t>(L), p->begin()).first -
        distinct[0]->begin());
  }
  const int64_t U = static_cast<int64_t>(distinct.size());
  if (L == 0 && U == B) return;  // nothing shared
  // 3. The tensors.
  size_t R = 0;
  for (const auto* p : distinct) R = std::max(R, p->size() - L);
  auto rests = torch::full({U, static_cast<int64_t>(R)}, pad_id, torch::kLong);
  auto rests_mask = torch::zeros({U, static_cast<int64_t>(R)}, torch::kLong);
  auto ra = rests.accessor<int64_t, 2>();
  auto ma = rests_mask.accessor<int64_t, 2>();
  for (int64_t u = 0; u < U; ++u) {
    const auto& p = *distinct[static_cast<size_t>(u)];
    const size_t off = R - (p.size() - L);
    for (size_t i = L; i < p.size(); ++i) ra[u][off + i - L] = p[i], ma[u][off + i - L] = 1;
  }
  if (L > 0) {
    std::vector<int64_t> prefix(distinct[0]->begin(), distinct[0]->begin() + static_cast<int64_t>(L));
    batch->common_prefix = torch::tensor(prefix, torch::kLong).unsqueeze(0).to(device);
  }
  batch->prompt_rests = rests.to(device);
  batch->prompt_rests_mask = rests_mask.to(device);
  batch->prompt_of_row = torch::tensor(prompt_of, torch::kLong).to(device);
}

}  // namespace

PolicyBatch MakePolicyBatch(const proto::MicroBatch& mb, torch::Device device, int32_t pad_id) {
  const int64_t B = mb.sequences_size();
  PRLM_REQUIRE(B > 0, "learner: an empty micro-batch");
  int64_t P = 0, C = 0, with_rollout_logprobs = 0;
  for (int64_t b = 0; b < B; ++b) {
    const auto& s = mb.sequences(static_cast<int>(b));
    PRLM_REQUIRE(s.prompt_size() > 0 && s.completion_size() > 0,
                 "learner: sequence " << b << " has an empty prompt or completion");
    PRLM_REQUIRE(s.rollout_logprobs_size() == 0 || s.rollout_logprobs_size() == s.completion_size(),
                 "learner: sequence " << b << " has " << s.rollout_logprobs_size() << " rollout log-probs for "
                                      << s.completion_size() << " completion tokens");
    with_rollout_logprobs += s.rollout_logprobs_size() > 0;
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
  SetSharedPromptTokens(mb, device, pad_id, &batch);
  batch.ids = ids.to(device);
  batch.mask = mask.to(device);
  batch.completion = ids.narrow(1, P, C).to(device);
  batch.completion_mask = cmask.to(device);
  if (with_rollout_logprobs == B) batch.rollout_logprobs = rollout.to(device);
  batch.advantages = adv.to(device);
  batch.prompt_width = P;
  return batch;
}

PolicyBatch WholeRows(PolicyBatch batch) {
  batch.common_prefix = batch.prompt_rests = batch.prompt_rests_mask = batch.prompt_of_row = torch::Tensor();
  return batch;
}

namespace {

// The final hidden states [B, C, H] that predict the C completion tokens:
// those at positions P-1 .. P+C-2 of each row.
torch::Tensor PredictingHidden(model::CausalLM& policy, const PolicyBatch& batch) {
  const int64_t T = batch.ids.size(1), P = batch.prompt_width, C = T - P;
  if (!batch.prompt_of_row.defined()) {  // one forward over the whole rows
    return policy
        ->Forward(batch.ids, model::PositionsFromMask(batch.mask),
                  model::AttentionBias(batch.mask, 0, T, torch::kFloat), nullptr)
        .narrow(1, P - 1, C);
  }
  const int64_t L = batch.common_prefix.defined() ? batch.common_prefix.size(1) : 0;
  const int64_t U = batch.prompt_rests.size(0), R = batch.prompt_rests.size(1);
  const auto long_opts = torch::TensorOptions().dtype(torch::kLong).device(batch.ids.device());
  // Key masks of the later stages: [common prefix | prompt rest | completion].
  const auto rests_mask = torch::cat({torch::ones({U, L}, long_opts), batch.prompt_rests_mask}, 1);
  const auto rows_mask =
      torch::cat({rests_mask.index_select(0, batch.prompt_of_row), batch.completion_mask.to(torch::kLong)}, 1);
  auto cache = policy->NewCache(L > 0 ? 1 : U, L + R + C);
  // 1. The common prefix once.
  if (L > 0) {
    const auto prefix_mask = torch::ones({1, L}, long_opts);
    policy->Forward(batch.common_prefix, model::PositionsFromMask(prefix_mask),
                    model::AttentionBias(prefix_mask, 0, L, torch::kFloat), &cache);
    cache.SelectRows(torch::zeros({U}, long_opts));
  }
  // 2. Each distinct prompt's rest once, over the prefix.
  const auto rest_hidden = policy->Forward(batch.prompt_rests, model::PositionsFromMask(rests_mask).narrow(1, L, R),
                                           model::AttentionBias(rests_mask, L, R, torch::kFloat), &cache);
  cache.SelectRows(batch.prompt_of_row);
  // 3. The completions, each over its prompt.
  const auto completion_hidden =
      policy->Forward(batch.completion, model::PositionsFromMask(rows_mask).narrow(1, L + R, C),
                      model::AttentionBias(rows_mask, L + R, C, torch::kFloat), &cache);
  // A prompt's last token (the rests are left-padded) predicts completion
  // token 0; completion token t predicts token t+1.
  return torch::cat(
      {rest_hidden.narrow(1, R - 1, 1).index_select(0, batch.prompt_of_row), completion_hidden.narrow(1, 0, C - 1)}, 1);
}

}  // namespace

CompletionScores ScoreCompletions(model::CausalLM& policy, const PolicyBatch& batch, double temperature,
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
