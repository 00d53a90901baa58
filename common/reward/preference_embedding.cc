#include "common/reward/preference_embedding.h"

#include <map>

#include "common/util/check.h"

namespace prlm::reward {

model::Pooling PoolingByName(const std::string& name) {
  if (name == "cls") return model::Pooling::kCls;
  if (name == "mean") return model::Pooling::kMean;
  PRLM_REQUIRE(name == "pooler", "pooling '" << name << "': expected cls, mean or pooler");
  return model::Pooling::kPooler;
}

torch::Tensor PairDifferences(RewardModel& embedder, model::Pooling pooling, const std::vector<PairTexts>& pairs,
                              int max_batch) {
  PRLM_REQUIRE(!pairs.empty(), "lore: no pairs to embed");
  std::map<std::pair<std::string, std::string>, int64_t> row;
  std::vector<std::pair<std::string, std::string>> texts;
  const auto row_of = [&](const std::string& prompt, const std::string& response) {
    const auto [it, added] = row.emplace(std::make_pair(prompt, response), static_cast<int64_t>(texts.size()));
    if (added) texts.emplace_back(prompt, response);
    return it->second;
  };
  std::vector<int64_t> chosen, rejected;
  for (const auto& p : pairs) {
    chosen.push_back(row_of(*p.prompt, *p.chosen));
    rejected.push_back(row_of(*p.prompt, *p.rejected));
  }
  const auto phi = embedder.EmbedTexts(texts, pooling, max_batch);
  return phi.index_select(0, torch::tensor(chosen)) - phi.index_select(0, torch::tensor(rejected));
}

}  // namespace prlm::reward
