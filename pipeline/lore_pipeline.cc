#include "pipeline/lore_pipeline.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <map>

#include "common/util/check.h"
#include "common/util/file.h"
#include "common/util/paired_bootstrap.h"
#include "pipeline/lore_training.h"

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

namespace {

std::vector<const PreferencePair*> PairsOf(const data::PreferenceSet& set, PreferenceSplit split,
                                           const std::string& user = "") {
  std::vector<const PreferencePair*> out;
  for (const auto& p : set.pairs)
    if (p.split == split && (user.empty() || p.user_id == user)) out.push_back(&p);
  return out;
}

}  // namespace

std::string TrainLoreOnSet(const data::PreferenceSet& set, const std::string& set_path, reward::RewardModel& embedder,
                           const std::string& embedder_dir, const std::string& pooling_name,
                           const reward::LoreOptions& o, const std::string& out_dir) {
  // 1. The train pairs, their users in order of first appearance, and phi.
  const auto train = PairsOf(set, PreferenceSplit::kTrain);
  PRLM_REQUIRE(!train.empty(), set_path << ": no pairs of the train split (\"split\": \"train\" or none)");
  const auto pooling = reward::PoolingByName(pooling_name);
  std::vector<std::string> users;
  std::map<std::string, int64_t> index;
  std::vector<int64_t> user_of;
  for (const auto* p : train) {
    const auto [it, added] = index.emplace(p->user_id, static_cast<int64_t>(users.size()));
    if (added) users.push_back(p->user_id);
    user_of.push_back(it->second);
  }
  const auto diffs = reward::PairDifferences(embedder, pooling, train);
  // 2. Train and save.
  reward::LoreReport report;
  const auto model = TrainLore({diffs, user_of}, users, o, &report);
  model.Save(out_dir, std::filesystem::absolute(embedder_dir).string(), pooling_name, o, report);
  char line[256];
  std::snprintf(line, sizeof line,
                "%zu pairs of %zu users (%zu duplicates dropped), phi dim %lld; loss %.4f -> %.4f; "
                "basis %lld -> %lld after pruning\n",
                train.size(), users.size(), set.duplicates, static_cast<long long>(diffs.size(1)), report.first_loss,
                report.final_loss, static_cast<long long>(report.basis_before_pruning),
                static_cast<long long>(report.basis));
  std::string out = line;
  // 3. Held-out pairs of the same users (unseen prompts).
  std::vector<const PreferencePair*> test;
  for (const auto* p : PairsOf(set, PreferenceSplit::kTest))
    if (index.count(p->user_id)) test.push_back(p);
  if (!test.empty()) {
    std::vector<std::string> test_users;
    for (const auto* p : test) test_users.push_back(p->user_id);
    const auto logits = model.PairLogits(reward::PairDifferences(embedder, pooling, test), test_users);
    std::snprintf(line, sizeof line, "pairwise accuracy on %zu test pairs of these users: %.4f\n", test.size(),
                  PairAccuracy(logits));
    out += line;
  }
  return out;
}

std::string AdaptLoreUser(const std::string& lore_dir, const std::string& user, const data::PreferenceSet& set,
                          const std::string& set_path, int64_t k, const reward::LoreOptions& o, int max_length) {
  PRLM_REQUIRE(k >= 0, "adapt-user: k must be >= 0, got " << k);
  PRLM_REQUIRE(o.adapt_iterations >= 1 && o.adapt_lr > 0, "adapt-user: adapt iterations must be >= 1, its lr > 0");
  // 1. The model, the user's pairs to fit on, and the embedder the model was trained on.
  std::string embedder_dir, pooling_name;
  auto model = reward::LoreModel::Load(lore_dir, &embedder_dir, &pooling_name);
  auto fit = PairsOf(set, PreferenceSplit::kFewshot, user);
  for (const auto* p : PairsOf(set, PreferenceSplit::kTrain, user)) fit.push_back(p);
  PRLM_REQUIRE(!fit.empty(), set_path << ": user " << user << " has no fewshot or train pairs");
  if (k > 0 && static_cast<size_t>(k) < fit.size()) fit.resize(static_cast<size_t>(k));
  const auto pooling = reward::PoolingByName(pooling_name);
  auto embedder = reward::RewardModel::Load(embedder_dir, max_length);
  PRLM_REQUIRE(embedder->encoder()->config().hidden_size == model.dim(),
               embedder_dir << " embeds in " << embedder->encoder()->config().hidden_size
                            << " dimensions, the LoRe basis " << model.dim());
  // 2. Fit, and write the table with the user in it (lore.json stays as trained).
  const auto weights = model.FitWeights(reward::PairDifferences(*embedder, pooling, fit), o);
  bool known = false;
  const auto before = model.WeightsOf(user, &known);
  model.SetUser(user, reward::LoreModel::LogitsOf(weights));
  model.SaveTable(lore_dir);
  std::string w;
  for (int64_t b = 0; b < weights.size(0); ++b) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%s%.3f", b ? ", " : "", weights[b].item<double>());
    w += buf;
  }
  std::string out = std::string(known ? "replaced " : "added ") + user + " from " + std::to_string(fit.size()) +
                    " pairs; weights [" + w + "]\n";
  // 3. The user's test pairs, before and after.
  const auto test = PairsOf(set, PreferenceSplit::kTest, user);
  if (!test.empty()) {
    const auto d = reward::PairDifferences(*embedder, pooling, test);
    char line[160];
    std::snprintf(line, sizeof line, "pairwise accuracy on %zu test pairs: %.4f with %s weights, %.4f adapted\n",
                  test.size(), PairAccuracy(model.PairLogits(d, before)), known ? "the old" : "the population",
                  PairAccuracy(model.PairLogits(d, weights)));
    out += line;
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
    const auto loss = PerUserBtLoss(logits, g, groups) + l2 * v.pow(2).sum(1).mean();
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

namespace {

// The comparison's pairs: phi differences of every pair, the seen users (with
// train pairs) and their test pairs, and the unseen users (with few-shot and
// test pairs).
struct ComparisonPairs {
  torch::Tensor diffs;  // [pairs, d], in the set's order
  std::vector<std::string> seen;
  std::vector<int64_t> train_rows, train_user;  // rows of diffs; index into seen
  torch::Tensor train_diffs, seen_test;
  std::vector<int64_t> seen_test_user;  // index into seen, one per seen_test row
  std::vector<std::string> unseen;
  std::map<std::string, std::vector<int64_t>> fewshot, test;  // rows of diffs per user
};

ComparisonPairs SplitComparisonPairs(const data::PreferenceSet& set, torch::Tensor diffs) {
  ComparisonPairs c;
  c.diffs = std::move(diffs);
  std::map<std::string, int64_t> seen_index;
  for (size_t i = 0; i < set.pairs.size(); ++i) {
    const auto& p = set.pairs[i];
    const int64_t row = static_cast<int64_t>(i);
    if (p.split == PreferenceSplit::kTrain) {
      auto [it, added] = seen_index.emplace(p.user_id, static_cast<int64_t>(c.seen.size()));
      if (added) c.seen.push_back(p.user_id);
      c.train_rows.push_back(row);
      c.train_user.push_back(it->second);
    } else {
      (p.split == PreferenceSplit::kFewshot ? c.fewshot : c.test)[p.user_id].push_back(row);
    }
  }
  PRLM_REQUIRE(!c.seen.empty(), set.source << ": no train pairs (split \"train\"): nothing to fit");
  std::vector<int64_t> seen_test_rows;
  for (const auto& [user, rows] : c.test) {
    if (const auto it = seen_index.find(user); it != seen_index.end()) {
      for (int64_t r : rows) seen_test_rows.push_back(r), c.seen_test_user.push_back(it->second);
    } else if (c.fewshot.count(user)) {
      c.unseen.push_back(user);
    }
  }
  PRLM_REQUIRE(!seen_test_rows.empty(), set.source << ": no test pairs of seen users");
  c.train_diffs = c.diffs.index_select(0, torch::tensor(c.train_rows));
  c.seen_test = c.diffs.index_select(0, torch::tensor(seen_test_rows));
  return c;
}

// A model's row: per-pair correctness on the seen users' test pairs, then on
// the unseen users' test pairs after k of their few-shot pairs, for each k.
using UnseenLogits = std::function<torch::Tensor(const torch::Tensor& shots, const torch::Tensor& tests)>;
std::vector<std::vector<double>> ComparisonRow(const ComparisonPairs& c, const torch::Tensor& seen_logits,
                                               const UnseenLogits& unseen_logits, const std::vector<int64_t>& shots) {
  std::vector<std::vector<double>> row = {PairCorrect(seen_logits)};
  for (int64_t k : shots) {
    std::vector<double> correct;
    for (const auto& user : c.unseen) {
      const auto& rows = c.fewshot.at(user);
      const int64_t n = std::min<int64_t>(k, static_cast<int64_t>(rows.size()));
      const auto few = c.diffs.index_select(0, torch::tensor(std::vector<int64_t>(rows.begin(), rows.begin() + n)));
      const auto tests = c.diffs.index_select(0, torch::tensor(c.test.at(user)));
      for (double x : PairCorrect(unseen_logits(few, tests))) correct.push_back(x);
    }
    row.push_back(std::move(correct));
  }
  return row;
}

// The accuracy table (n per column, the Bayes row from truth.json when
// given) and, when `lore_row` > 0, its differences against rows 0 and 1.
std::string ComparisonTables(const std::vector<std::string>& columns, const std::vector<std::string>& names,
                             const std::vector<std::vector<std::vector<double>>>& values, size_t lore_row,
                             const std::string& truth_path) {
  const auto header = [&](const char* first) {
    std::string h = std::string("| ") + first + " |";
    for (const auto& c : columns) h += " " + c + " |";
    h += "\n|---|";
    for (size_t c = 0; c < columns.size(); ++c) h += "---|";
    return h + "\n";
  };
  std::string md = header("model") + "| n (test pairs) |";
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
  if (lore_row == 0) return md;
  md += "\nDifferences (paired bootstrap 95% intervals over the same test pairs):\n\n" + header("difference");
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
  return md;
}

}  // namespace

std::string CompareLore(const data::PreferenceSet& set, reward::RewardModel& embedder, model::Pooling pooling,
                        const LoreComparisonOptions& o, const std::string& truth_path) {
  // 1. Every pair's phi difference, once; 2. seen and unseen users and their test pairs.
  std::vector<const PreferencePair*> all;
  for (const auto& p : set.pairs) all.push_back(&p);
  const ComparisonPairs c = SplitComparisonPairs(set, reward::PairDifferences(embedder, pooling, all));
  const double scale = o.lore.scale;
  const int64_t iterations = o.lore.iterations, seen_users = static_cast<int64_t>(c.seen.size());
  std::vector<std::string> columns = {"seen users"}, names;
  for (int64_t k : o.shots) columns.push_back("unseen, k=" + std::to_string(k));
  std::vector<std::vector<std::vector<double>>> values;  // [model][column] = per-pair correctness
  const auto fit_one = [&](const torch::Tensor& diffs) {
    return FitLinearBt(diffs, std::vector<int64_t>(static_cast<size_t>(diffs.size(0)), 0), 1, scale, o.linear_l2,
                       iterations, 1e-2)[0];
  };
  // 3. Shared: one linear BT model on every train pair.
  const auto shared = fit_one(c.train_diffs);
  names.push_back("shared BT (linear on phi)");
  values.push_back(ComparisonRow(
      c, c.seen_test.matmul(shared), [&](const torch::Tensor&, const torch::Tensor& t) { return t.matmul(shared); },
      o.shots));
  // 4. Per user: a linear model of each user's own pairs.
  const auto per_user = FitLinearBt(c.train_diffs, c.train_user, seen_users, scale, o.linear_l2, iterations, 1e-2);
  names.push_back("per-user BT (linear on phi)");
  values.push_back(ComparisonRow(
      c, (c.seen_test * per_user.index_select(0, torch::tensor(c.seen_test_user))).sum(1),
      [&](const torch::Tensor& s, const torch::Tensor& t) { return t.matmul(fit_one(s)); }, o.shots));
  // 5. LoRe at each basis size.
  std::vector<std::string> test_users;
  for (int64_t u : c.seen_test_user) test_users.push_back(c.seen[static_cast<size_t>(u)]);
  size_t lore_row = 0;
  for (int64_t b : o.bases) {
    reward::LoreOptions lo = o.lore;
    lo.basis = b;
    reward::LoreReport report;
    const auto model = TrainLore({c.train_diffs, c.train_user}, c.seen, lo, &report);
    if (b == o.compare_basis) lore_row = names.size();
    names.push_back("LoRe B=" + std::to_string(b) + " (" + std::to_string(report.basis) + " after pruning)");
    values.push_back(ComparisonRow(
        c, model.PairLogits(c.seen_test, test_users),
        [&](const torch::Tensor& s, const torch::Tensor& t) { return model.PairLogits(t, model.FitWeights(s, lo)); },
        o.shots));
  }
  // 6. The tables.
  return ComparisonTables(columns, names, values, lore_row, truth_path);
}

}  // namespace prlm::pipeline
