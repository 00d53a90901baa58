#include "coordinator/batch_plan.h"

#include <algorithm>
#include <map>
#include <numeric>

#include "common/util/check.h"

namespace prlm::coordinator {

std::vector<std::vector<size_t>> PlanMicroBatches(const std::vector<int64_t>& tokens,
                                                  const std::vector<int64_t>& group_of, int64_t micro_batch_size) {
  PRLM_CHECK(micro_batch_size >= 1);
  PRLM_CHECK(group_of.size() == tokens.size());
  std::map<int64_t, int64_t> group_longest;
  for (size_t i = 0; i < tokens.size(); ++i)
    group_longest[group_of[i]] = std::max(group_longest[group_of[i]], tokens[i]);
  std::vector<size_t> order(tokens.size());
  std::iota(order.begin(), order.end(), 0);
  // Longest group first; one group's sequences together, longest first;
  // ties by index (stable).
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) {
    const int64_t la = group_longest[group_of[a]], lb = group_longest[group_of[b]];
    if (la != lb) return la > lb;
    if (group_of[a] != group_of[b]) return group_of[a] < group_of[b];
    return tokens[a] > tokens[b];
  });
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
