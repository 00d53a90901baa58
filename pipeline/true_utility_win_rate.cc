#include "pipeline/true_utility_win_rate.h"

#include <cstdio>
#include <unordered_map>

#include "common/util/check.h"
#include "common/util/json_lines.h"

namespace prlm::pipeline {

std::vector<JudgedAnswer> ReadJudgedAnswers(const std::string& path) {
  std::vector<JudgedAnswer> out;
  util::ForEachJsonLine(path, [&](const nlohmann::json& j, const std::string& where, size_t) {
    JudgedAnswer a;
    a.id = util::JsonLineString(j, where, "id", true);
    a.user_id = util::JsonLineString(j, where, "user_id", true);
    a.answer = util::JsonLineString(j, where, "answer", true);
    if (j.contains("gold")) a.gold = util::JsonLineString(j, where, "gold", true);
    out.push_back(std::move(a));
  });
  PRLM_REQUIRE(!out.empty(), "completions file '" << path << "' holds no answers");
  return out;
}

TrueUtilityComparison CompareUnderTruth(const std::map<std::string, pipeline::PreferenceUser>& truth,
                                        const std::vector<JudgedAnswer>& a, const std::vector<JudgedAnswer>& b,
                                        uint64_t seed) {
  PRLM_REQUIRE(!a.empty() && a.size() == b.size(), "true-utility comparison: the two files answer "
                                                       << a.size() << " and " << b.size()
                                                       << " questions; they must answer the same ones");
  std::unordered_map<std::string, const JudgedAnswer*> b_by_id;
  for (const auto& x : b)
    PRLM_REQUIRE(b_by_id.emplace(x.id, &x).second, "true-utility comparison: question " << x.id << " appears twice");
  const auto utility = [&](const JudgedAnswer& x, const std::string& text) {
    const auto user = truth.find(x.user_id);
    PRLM_REQUIRE(user != truth.end(),
                 "true-utility comparison: question " << x.id << ": user " << x.user_id << " is not in the truth file");
    return pipeline::TrueUtility(user->second, text);
  };
  TrueUtilityComparison c;
  c.n = a.size();
  std::vector<double> ua, ub, half(a.size(), 0.5), win;
  double gold = 0;
  bool all_gold = true;
  for (const auto& x : a) {
    const auto it = b_by_id.find(x.id);
    PRLM_REQUIRE(it != b_by_id.end(), "true-utility comparison: question " << x.id << " is answered by one file only");
    PRLM_REQUIRE(it->second->user_id == x.user_id, "true-utility comparison: question "
                                                       << x.id << " is asked by " << x.user_id << " in one file and "
                                                       << it->second->user_id << " in the other");
    ua.push_back(utility(x, x.answer));
    ub.push_back(utility(x, it->second->answer));
    if (truth.size() > 1) {
      double others_a = 0, others_b = 0;
      for (const auto& [id, user] : truth)
        if (id != x.user_id) {
          others_a += pipeline::TrueUtility(user, x.answer);
          others_b += pipeline::TrueUtility(user, it->second->answer);
        }
      c.gap_a += ua.back() - others_a / static_cast<double>(truth.size() - 1);
      c.gap_b += ub.back() - others_b / static_cast<double>(truth.size() - 1);
    }
    win.push_back(ub.back() > ua.back() ? 1.0 : ub.back() == ua.back() ? 0.5 : 0.0);
    c.wins += win.back() == 1.0;
    c.ties += win.back() == 0.5;
    c.losses += win.back() == 0.0;
    all_gold = all_gold && x.gold.has_value();
    if (x.gold) gold += utility(x, *x.gold);
  }
  c.utility_difference = util::PairedBootstrap(ua, ub, util::Statistic::kMean, 10000, 0.95, seed);
  for (size_t i = 0; i < c.n; ++i) {
    c.utility_a += ua[i] / static_cast<double>(c.n);
    c.utility_b += ub[i] / static_cast<double>(c.n);
  }
  c.gap_a /= static_cast<double>(c.n);
  c.gap_b /= static_cast<double>(c.n);
  // The win rate's interval: the bootstrap of mean(win) - 0.5, shifted back.
  const auto w = util::PairedBootstrap(half, win, util::Statistic::kMean, 10000, 0.95, seed);
  c.win_rate = 0.5 + w.difference;
  c.win_low = 0.5 + w.low;
  c.win_high = 0.5 + w.high;
  if (all_gold) c.utility_gold = gold / static_cast<double>(c.n);
  return c;
}

std::string ComparisonHeader() {
  return "| b vs a | n | true utility of a | of b | b - a [95% CI] | win rate of b [95% CI] | wins / ties / losses "
         "| personalization gap of a | of b |\n"
         "|---|---|---|---|---|---|---|---|---|\n";
}

std::string ComparisonRow(const std::string& name_a, const std::string& name_b, const TrueUtilityComparison& c) {
  char row[512];
  std::snprintf(
      row, sizeof row,
      "| %s vs %s | %zu | %.4f | %.4f | %+.4f [%+.4f, %+.4f] | %.3f [%.3f, %.3f] | %zu / %zu / %zu | %+.4f | %+.4f |\n",
      name_b.c_str(), name_a.c_str(), c.n, c.utility_a, c.utility_b, c.utility_difference.difference,
      c.utility_difference.low, c.utility_difference.high, c.win_rate, c.win_low, c.win_high, c.wins, c.ties, c.losses,
      c.gap_a, c.gap_b);
  return row;
}

std::string JudgeUnderTruth(const std::string& truth_path, const std::string& baseline,
                            const std::vector<std::string>& candidates, uint64_t seed) {
  const auto named = [](const std::string& spec) {
    const size_t eq = spec.find('=');
    PRLM_REQUIRE(eq != std::string::npos && eq > 0 && eq + 1 < spec.size(),
                 "judge-utility: '" << spec << "' is not NAME=FILE");
    return std::make_pair(spec.substr(0, eq), ReadJudgedAnswers(spec.substr(eq + 1)));
  };
  const auto truth = ReadPreferenceTruth(truth_path);
  const auto [base_name, base] = named(baseline);
  std::string md = ComparisonHeader(), gold;
  for (const auto& spec : candidates) {
    const auto [name, answers] = named(spec);
    const auto c = CompareUnderTruth(truth, base, answers, seed);
    md += ComparisonRow(base_name, name, c);
    if (c.utility_gold && gold.empty())
      gold = "\nThe gold answers' mean true utility: " + std::to_string(*c.utility_gold) + "\n";
  }
  return md + gold;
}

}  // namespace prlm::pipeline
