#include "pipeline/lore_pipeline.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <map>

#include "common/util/check.h"
#include "common/util/file.h"
#include "common/util/paired_bootstrap.h"

namespace prlm::pipeline {

using data::PreferencePair;
using data::PreferenceSplit;

std::vector<double> PairCorrect(const torch::Tensor& logits) {
  const auto l = logits.to(torch::kDouble).contiguous();
  std::vector<double> out;
  for (int64_t i = 0; i < l.numel(); ++i) {
    const double v = l.data_ptr<double>()[i];
    out.push_back(v > 0 ? 1.0 : v == 0 ? 0.5 : 0.0);
  }
  return out;
}

double MeanOf(const std::vector<double>& values) {
  double s = 0;
  for (double x : values) s += x;
  return values.empty() ? 0 : s / static_cast<double>(values.size());
}

double PairAccuracy(const torch::Tensor& logits) { return MeanOf(PairCorrect(logits)); }

torch::Tensor FitLinearBt(const torch::Tensor& diffs, const std::vector<int64_t>& group, int64_t groups, double scale,
                          double l2, int64_t iterations, double lr) {
  const auto g = torch::tensor(group, torch::kLong);
  auto v = torch::zeros({groups, diffs.size(1)}).set_requires_grad(true);
  torch::optim::Adam opt({v}, torch::optim::AdamOptions(lr));
  for (int64_t it = 0; it < iterations; ++it) {
    opt.zero_grad();
    const auto logits = (diffs * v.index_select(0, g)).sum(1) / scale;
    const auto loss = reward::PerUserBtLoss(logits, g, groups) + l2 * v.pow(2).sum(1).mean();
    loss.backward();
    opt.step();
  }
  return v.detach();
}

namespace {

// Pairs of one split grouped by user, with their differences.
struct UserPairs {
  std::vector<std::string> users;
  std::vector<std::vector<int64_t>> rows;  // per user: rows of `diffs`
};

std::string Cell(double accuracy) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", accuracy);
  return buf;
}

}  // namespace

std::string CompareLore(const data::PreferenceSet& set, reward::RewardModel& embedder, model::Pooling pooling,
                        const LoreComparisonOptions& o, const std::string& truth_path) {
  // 1. Every pair's phi difference, once.
  std::vector<const PreferencePair*> all;
  for (const auto& p : set.pairs) all.push_back(&p);
  const auto diffs = reward::PairDifferences(embedder, pooling, all);
  // 2. Seen users (those with train pairs), unseen users (fewshot pairs), test pairs of each.
  std::map<std::string, int64_t> seen_index;
  std::vector<std::string> seen;
  std::vector<int64_t> train_rows, train_user;
  std::map<std::string, std::vector<int64_t>> fewshot, test;
  for (size_t i = 0; i < all.size(); ++i) {
    const auto& p = *all[i];
    if (p.split == PreferenceSplit::kTrain) {
      auto [it, added] = seen_index.emplace(p.user_id, static_cast<int64_t>(seen.size()));
      if (added) seen.push_back(p.user_id);
      train_rows.push_back(static_cast<int64_t>(i));
      train_user.push_back(it->second);
    } else if (p.split == PreferenceSplit::kFewshot) {
      fewshot[p.user_id].push_back(static_cast<int64_t>(i));
    } else {
      test[p.user_id].push_back(static_cast<int64_t>(i));
    }
  }
  PRLM_REQUIRE(!seen.empty(), set.source << ": no train pairs (split \"train\"): nothing to fit");
  const auto train_diffs = diffs.index_select(0, torch::tensor(train_rows));
  const double scale = o.lore.scale;
  const int64_t iterations = o.lore.iterations;
  // Test pairs of seen users, and of unseen users that have few-shot pairs.
  std::vector<int64_t> seen_test_rows, seen_test_user;
  std::vector<std::string> unseen;
  for (const auto& [user, rows] : test) {
    if (const auto it = seen_index.find(user); it != seen_index.end()) {
      for (int64_t r : rows) seen_test_rows.push_back(r), seen_test_user.push_back(it->second);
    } else if (fewshot.count(user)) {
      unseen.push_back(user);
    }
  }
  PRLM_REQUIRE(!seen_test_rows.empty(), set.source << ": no test pairs of seen users");
  const auto seen_test = diffs.index_select(0, torch::tensor(seen_test_rows));
  const auto seen_test_user_t = torch::tensor(seen_test_user);
  // columns: seen, then unseen at each k; rows: models. values[model][column] = per-pair correctness.
  std::vector<std::string> columns = {"seen users"};
  for (int64_t k : o.shots) columns.push_back("unseen, k=" + std::to_string(k));
  std::vector<std::string> names;
  std::vector<std::vector<std::vector<double>>> values;
  const auto unseen_column =
      [&](const std::function<torch::Tensor(const torch::Tensor& shots, const torch::Tensor& tests)>& logits_of,
          int64_t k) {
        std::vector<double> correct;
        for (const auto& user : unseen) {
          const auto& shots_rows = fewshot[user];
          const int64_t n = std::min<int64_t>(k, static_cast<int64_t>(shots_rows.size()));
          const auto shots =
              diffs.index_select(0, torch::tensor(std::vector<int64_t>(shots_rows.begin(), shots_rows.begin() + n)));
          const auto tests = diffs.index_select(0, torch::tensor(test[user]));
          for (double c : PairCorrect(logits_of(shots, tests))) correct.push_back(c);
        }
        return correct;
      };
  // 3. Shared: one linear BT model on every train pair.
  {
    const auto v = FitLinearBt(train_diffs, std::vector<int64_t>(train_rows.size(), 0), 1, scale, o.linear_l2,
                               iterations, 1e-2)[0];
    std::vector<std::vector<double>> row = {PairCorrect(seen_test.matmul(v))};
    for (int64_t k : o.shots)
      row.push_back(unseen_column([&](const torch::Tensor&, const torch::Tensor& t) { return t.matmul(v); }, k));
    names.push_back("shared BT (linear on phi)");
    values.push_back(row);
  }
  // 4. Per user: a linear model of each user's own pairs.
  {
    const auto v =
        FitLinearBt(train_diffs, train_user, static_cast<int64_t>(seen.size()), scale, o.linear_l2, iterations, 1e-2);
    std::vector<std::vector<double>> row = {PairCorrect((seen_test * v.index_select(0, seen_test_user_t)).sum(1))};
    for (int64_t k : o.shots)
      row.push_back(unseen_column(
          [&](const torch::Tensor& s, const torch::Tensor& t) {
            const auto vu = FitLinearBt(s, std::vector<int64_t>(static_cast<size_t>(s.size(0)), 0), 1, scale,
                                        o.linear_l2, iterations, 1e-2)[0];
            return t.matmul(vu);
          },
          k));
    names.push_back("per-user BT (linear on phi)");
    values.push_back(row);
  }
  // 5. LoRe at each basis size.
  size_t lore_row = 0;
  for (int64_t b : o.bases) {
    reward::LoreOptions lo = o.lore;
    lo.basis = b;
    reward::LoreReport report;
    const auto model = reward::LoreModel::Train({train_diffs, train_user}, seen, lo, &report);
    std::vector<std::string> test_users;
    for (int64_t u : seen_test_user) test_users.push_back(seen[static_cast<size_t>(u)]);
    std::vector<std::vector<double>> row = {PairCorrect(model.PairLogits(seen_test, test_users))};
    for (int64_t k : o.shots)
      row.push_back(unseen_column(
          [&](const torch::Tensor& s, const torch::Tensor& t) { return model.PairLogits(t, model.FitWeights(s, lo)); },
          k));
    if (b == o.compare_basis) lore_row = names.size();
    names.push_back("LoRe B=" + std::to_string(b) + " (" + std::to_string(report.basis) + " after pruning)");
    values.push_back(row);
  }
  // 6. The tables.
  std::string md = "| model |";
  for (const auto& c : columns) md += " " + c + " |";
  md += "\n|---|";
  for (size_t c = 0; c < columns.size(); ++c) md += "---|";
  md += "\n| n (test pairs) |";
  for (size_t c = 0; c < columns.size(); ++c) md += " " + std::to_string(values[0][c].size()) + " |";
  md += "\n";
  for (size_t m = 0; m < names.size(); ++m) {
    md += "| " + names[m] + " |";
    for (const auto& v : values[m]) md += " " + Cell(MeanOf(v)) + " |";
    md += "\n";
  }
  if (!truth_path.empty()) {
    const auto truth = nlohmann::json::parse(util::ReadFile(truth_path));
    const double bs = truth.at("bayes_accuracy").at("seen_test").get<double>(),
                 bu = truth.at("bayes_accuracy").at("unseen_test").get<double>();
    md += "| Bayes (the true utilities under the label noise) | " + Cell(bs) + " |";
    for (size_t c = 1; c < columns.size(); ++c) md += " " + Cell(bu) + " |";
    md += "\n";
  }
  if (lore_row > 0) {
    md += "\nDifferences (paired bootstrap 95% intervals over the same test pairs):\n\n| difference |";
    for (const auto& c : columns) md += " " + c + " |";
    md += "\n|---|";
    for (size_t c = 0; c < columns.size(); ++c) md += "---|";
    md += "\n";
    for (size_t base : {size_t{0}, size_t{1}}) {
      md += "| " + names[lore_row] + " - " + names[base] + " |";
      for (size_t c = 0; c < columns.size(); ++c) {
        const auto b = util::PairedBootstrap(values[base][c], values[lore_row][c]);
        char buf[96];
        std::snprintf(buf, sizeof buf, " %+.4f [%+.4f, %+.4f] |", b.difference, b.low, b.high);
        md += buf;
      }
      md += "\n";
    }
  }
  return md;
}

}  // namespace prlm::pipeline
