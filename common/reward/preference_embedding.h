// LoRe's frozen embedding phi(x, y) of a (prompt, response) pair: a BERT
// directory's pooled state over the sentence pair [CLS] prompt [SEP] response
// [SEP] (RewardModel::EmbedTexts), and the differences phi(chosen) -
// phi(rejected) that preference pairs train on.
// Thread-safety: plain functions; the embedder is used by one call at a time.
#pragma once

#include <torch/torch.h>

#include <string>
#include <vector>

#include "common/model/bert.h"
#include "common/reward/reward_model.h"

namespace prlm::reward {

// "cls" | "mean" | "pooler" (BERT's tanh pooler); throws naming the value otherwise.
model::Pooling PoolingByName(const std::string& name);

// A preference pair's texts, by reference.
struct PairTexts {
  const std::string* prompt;
  const std::string* chosen;
  const std::string* rejected;
};

// phi(prompt, chosen) - phi(prompt, rejected) [N, d] (CPU, fp32), each
// distinct (prompt, response) embedded once. REQUIRES: pairs not empty.
torch::Tensor PairDifferences(RewardModel& embedder, model::Pooling pooling, const std::vector<PairTexts>& pairs,
                              int max_batch = 64);

// The same for any list of pair-like records with prompt, chosen and rejected strings.
template <class Pair>
torch::Tensor PairDifferences(RewardModel& embedder, model::Pooling pooling, const std::vector<const Pair*>& pairs,
                              int max_batch = 64) {
  std::vector<PairTexts> texts;
  texts.reserve(pairs.size());
  for (const auto* p : pairs) texts.push_back({&p->prompt, &p->chosen, &p->rejected});
  return PairDifferences(embedder, pooling, texts, max_batch);
}

}  // namespace prlm::reward
