#include "coordinator/batch_plan.h"

#include <algorithm>
#include <numeric>

#include "common/util/check.h"

namespace prlm::coordinator {

std::vector<std::vector<size_t>> PlanMicroBatches(const std::vector<int64_t>& tokens, int64_t micro_batch_size) {
  PRLM_CHECK(micro_batch_size >= 1);
  std::vector<size_t> order(tokens.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tokens[a] > tokens[b]; });
  std::vector<std::vector<size_t>> out;
  for (size_t i = 0; i < order.size(); i += static_cast<size_t>(micro_batch_size))
    out.emplace_back(order.begin() + i, order.begin() + std::min(order.size(), i + micro_batch_size));
  return out;
}

std::vector<int> AssignToLearners(const std::vector<int64_t>& mb_tokens, int learners) {
  PRLM_CHECK(learners >= 1);
  std::vector<size_t> order(mb_tokens.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return mb_tokens[a] > mb_tokens[b]; });
  std::vector<int64_t> load(static_cast<size_t>(learners), 0);
  std::vector<int> owner(mb_tokens.size(), 0);
  for (size_t mb : order) {
    const int l = static_cast<int>(std::min_element(load.begin(), load.end()) - load.begin());
    owner[mb] = l;
    load[static_cast<size_t>(l)] += mb_tokens[mb];
  }
  return owner;
}

}  // namespace prlm::coordinator
