#include "common/model/logprobs.h"

#include "common/util/check.h"

namespace prlm::model {

torch::Tensor TokenLogprobs(CausalLM& model, const torch::Tensor& ids, const torch::Tensor& mask, double temperature) {
  const int64_t T = ids.size(1);
  const auto hidden = model->Forward(ids, PositionsFromMask(mask), AttentionBias(mask, 0, T, torch::kFloat), nullptr);
  auto logits = model->Logits(hidden.narrow(1, 0, T - 1)).to(torch::kFloat);
  if (temperature != 1.0) logits = logits / temperature;
  const auto targets = ids.narrow(1, 1, T - 1).unsqueeze(-1);
  // log_softmax(x)[y] = x[y] - logsumexp(x), without materialising log_softmax.
  const auto lp = logits.gather(-1, targets).squeeze(-1) - logits.logsumexp(-1);
  return lp * mask.narrow(1, 1, T - 1).to(lp.scalar_type());
}

std::vector<std::vector<float>> SequenceLogprobs(CausalLM& model, const std::vector<std::vector<int32_t>>& seqs,
                                                 double temperature) {
  torch::NoGradGuard no_grad;
  std::vector<const std::vector<int32_t>*> ptrs;
  for (const auto& s : seqs) {
    PRLM_REQUIRE(s.size() >= 2, "logprobs: a sequence needs at least 2 tokens");
    ptrs.push_back(&s);
  }
  const auto device = model->model->embed_tokens->weight.device();
  auto [ids, mask] = LeftPad(ptrs, 0, device);
  const auto lp = TokenLogprobs(model, ids, mask, temperature).to(torch::kCPU).contiguous();
  const int64_t L = ids.size(1);
  std::vector<std::vector<float>> out;
  auto a = lp.accessor<float, 2>();
  for (size_t b = 0; b < seqs.size(); ++b) {
    std::vector<float> row;
    for (int64_t t = L - static_cast<int64_t>(seqs[b].size()); t < L - 1; ++t) row.push_back(a[b][t]);
    out.push_back(std::move(row));
  }
  return out;
}

}  // namespace prlm::model
