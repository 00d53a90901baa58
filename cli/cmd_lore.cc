// LoRe's commands: train-lore, adapt-user, eval-lore (pipeline/lore_pipeline.h).
#include <cstdio>
#include <filesystem>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/compute_options.h"
#include "common/data/preference_file.h"
#include "common/reward/lore.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "pipeline/lore_pipeline.h"
#include "pipeline/true_utility_win_rate.h"

namespace prlm::cli {

namespace {

void AddLoreOptions(Args& args) {
  args.Option("pooling", "P", "pooler", "phi: cls, mean or pooler (BERT's pooled state)")
      .Option("max-length", "N", "256", "tokens per (prompt, response)")
      .Option("iterations", "N", "400", "alternations of a basis step and a weights step (full-batch Adam)")
      .Option("lr-basis", "X", "1e-2", "Adam learning rate of the basis V")
      .Option("lr-weights", "X", "5e-2", "Adam learning rate of the users' logits")
      .Option("alpha", "X", "0", "weight of ||V - V_0||^2")
      .Option("prune-below", "X", "1e-2", "drop basis columns no user weighs above this")
      .Option("scale", "X", "100", "logits are diff . V w / scale (the paper's 100)")
      .Option("adapt-iterations", "N", "500", "a new user's Adam steps (V frozen)")
      .Option("adapt-lr", "X", "0.1", "a new user's Adam learning rate")
      .Option("seed", "S", "1", "initial basis seed");
}

reward::LoreOptions LoreOptionsOf(const Args& args) {
  reward::LoreOptions o;
  o.iterations = args.GetInt("iterations");
  o.lr_basis = args.GetDouble("lr-basis");
  o.lr_weights = args.GetDouble("lr-weights");
  o.alpha = args.GetDouble("alpha");
  o.prune_below = args.GetDouble("prune-below");
  o.scale = args.GetDouble("scale");
  o.adapt_iterations = args.GetInt("adapt-iterations");
  o.adapt_lr = args.GetDouble("adapt-lr");
  o.seed = static_cast<uint64_t>(args.GetInt("seed"));
  PRLM_REQUIRE(o.iterations >= 1 && o.adapt_iterations >= 1, "--iterations and --adapt-iterations must be >= 1");
  PRLM_REQUIRE(o.scale > 0 && o.lr_basis > 0 && o.lr_weights > 0 && o.adapt_lr > 0,
               "--scale and the learning rates must be > 0");
  return o;
}

std::vector<const data::PreferencePair*> PairsOf(const data::PreferenceSet& set, data::PreferenceSplit split,
                                                 const std::string& user = "") {
  std::vector<const data::PreferencePair*> out;
  for (const auto& p : set.pairs)
    if (p.split == split && (user.empty() || p.user_id == user)) out.push_back(&p);
  return out;
}

}  // namespace

int RunTrainLore(int argc, char** argv) {
  Args args("train-lore",
            "Fit LoRe (docs/lore.md): a shared basis V of B reward directions on a frozen BERT's phi(prompt,\n"
            "response) and every train user's mixture weights, by the per-user Bradley-Terry loss. Reports\n"
            "pairwise accuracy on the train users' test pairs; writes DIR/lore.safetensors and lore.json.");
  args.Option("embedder", "DIR", "", "a BERT directory (e.g. a train-rm reward model) giving phi", true)
      .Option("pairs", "FILE", "", "preference pairs (JSON lines; the train split is fitted)", true)
      .Option("basis", "B", "8", "basis columns before pruning")
      .Option("out", "DIR", "", "the LoRe model directory", true);
  AddLoreOptions(args);
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  SetUpCompute(args);
  reward::LoreOptions o = LoreOptionsOf(args);
  o.basis = args.GetInt("basis");
  const auto set = data::ReadPreferenceFile(args.Get("pairs"));
  const auto train = PairsOf(set, data::PreferenceSplit::kTrain);
  PRLM_REQUIRE(!train.empty(), args.Get("pairs") << ": no pairs of the train split (\"split\": \"train\" or none)");
  const auto pooling = reward::PoolingByName(args.Get("pooling"));
  auto embedder = reward::RewardModel::Load(args.Get("embedder"), static_cast<int>(args.GetInt("max-length")));
  std::vector<std::string> users;
  std::map<std::string, int64_t> index;
  std::vector<int64_t> user_of;
  for (const auto* p : train) {
    const auto [it, added] = index.emplace(p->user_id, static_cast<int64_t>(users.size()));
    if (added) users.push_back(p->user_id);
    user_of.push_back(it->second);
  }
  const auto diffs = reward::PairDifferences(*embedder, pooling, train);
  reward::LoreReport report;
  const auto model = reward::LoreModel::Train({diffs, user_of}, users, o, &report);
  model.Save(args.Get("out"), std::filesystem::absolute(args.Get("embedder")).string(), args.Get("pooling"), o, report);
  std::printf(
      "train-lore: %zu pairs of %zu users (%zu duplicates dropped), phi dim %lld; loss %.4f -> %.4f; "
      "basis %lld -> %lld after pruning\n",
      train.size(), users.size(), set.duplicates, static_cast<long long>(diffs.size(1)), report.first_loss,
      report.final_loss, static_cast<long long>(report.basis_before_pruning), static_cast<long long>(report.basis));
  // Held-out pairs of the same users (unseen prompts).
  std::vector<const data::PreferencePair*> test;
  for (const auto* p : PairsOf(set, data::PreferenceSplit::kTest))
    if (index.count(p->user_id)) test.push_back(p);
  if (!test.empty()) {
    const auto test_diffs = reward::PairDifferences(*embedder, pooling, test);
    std::vector<std::string> test_users;
    for (const auto* p : test) test_users.push_back(p->user_id);
    const auto logits = model.PairLogits(test_diffs, test_users);
    std::printf("train-lore: pairwise accuracy on %zu test pairs of these users: %.4f\n", test.size(),
                pipeline::PairAccuracy(logits));
  }
  std::printf("train-lore: wrote %s\n", args.Get("out").c_str());
  return 0;
}

int RunAdaptUser(int argc, char** argv) {
  Args args("adapt-user",
            "Fit one user's LoRe mixture weights from a few preference pairs with the basis frozen, and add\n"
            "(or replace) the user in the model's table. Prints the weights and, when the file has test pairs\n"
            "of the user, the pairwise accuracy on them before (population mean weights) and after.");
  args.Option("lore", "DIR", "", "a LoRe model directory (train-lore)", true)
      .Option("user", "ID", "", "the user's id", true)
      .Option("pairs", "FILE", "", "preference pairs; the user's fewshot and train pairs are fitted", true)
      .Option("k", "N", "0", "fit on the user's first N pairs only (0: all)")
      .Option("adapt-iterations", "N", "500", "Adam steps")
      .Option("adapt-lr", "X", "0.1", "Adam learning rate")
      .Option("max-length", "N", "256", "tokens per (prompt, response)");
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  SetUpCompute(args);
  const std::string dir = args.Get("lore"), user = args.Get("user");
  std::string embedder_dir, pooling_name;
  auto model = reward::LoreModel::Load(dir, &embedder_dir, &pooling_name);
  const auto set = data::ReadPreferenceFile(args.Get("pairs"));
  auto fit = PairsOf(set, data::PreferenceSplit::kFewshot, user);
  for (const auto* p : PairsOf(set, data::PreferenceSplit::kTrain, user)) fit.push_back(p);
  PRLM_REQUIRE(!fit.empty(), args.Get("pairs") << ": user " << user << " has no fewshot or train pairs");
  PRLM_REQUIRE(args.GetInt("k") >= 0, "--k must be >= 0");
  if (args.GetInt("k") > 0 && static_cast<size_t>(args.GetInt("k")) < fit.size())
    fit.resize(static_cast<size_t>(args.GetInt("k")));
  reward::LoreOptions o;
  o.adapt_iterations = args.GetInt("adapt-iterations");
  o.adapt_lr = args.GetDouble("adapt-lr");
  PRLM_REQUIRE(o.adapt_iterations >= 1 && o.adapt_lr > 0, "--adapt-iterations must be >= 1, --adapt-lr > 0");
  const auto pooling = reward::PoolingByName(pooling_name);
  auto embedder = reward::RewardModel::Load(embedder_dir, static_cast<int>(args.GetInt("max-length")));
  PRLM_REQUIRE(embedder->encoder()->config().hidden_size == model.dim(),
               embedder_dir << " embeds in " << embedder->encoder()->config().hidden_size
                            << " dimensions, the LoRe basis " << model.dim());
  const auto weights = model.FitWeights(reward::PairDifferences(*embedder, pooling, fit), o);
  bool known = false;
  const auto before = model.WeightsOf(user, &known);
  model.SetUser(user, reward::LoreModel::LogitsOf(weights));
  model.SaveTable(dir);  // the table with the user in it; lore.json stays as trained
  std::string w;
  for (int64_t b = 0; b < weights.size(0); ++b) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%s%.3f", b ? ", " : "", weights[b].item<double>());
    w += buf;
  }
  std::printf("adapt-user: %s %s from %zu pairs; weights [%s]\n", known ? "replaced" : "added", user.c_str(),
              fit.size(), w.c_str());
  const auto test = PairsOf(set, data::PreferenceSplit::kTest, user);
  if (!test.empty()) {
    const auto d = reward::PairDifferences(*embedder, pooling, test);
    std::printf("adapt-user: pairwise accuracy on %zu test pairs: %.4f with %s weights, %.4f adapted\n", test.size(),
                pipeline::PairAccuracy(model.PairLogits(d, before)), known ? "the old" : "the population",
                pipeline::PairAccuracy(model.PairLogits(d, weights)));
  }
  return 0;
}

int RunEvalLore(int argc, char** argv) {
  Args args("eval-lore",
            "LoRe's comparison on preference pairs (the paper's table): pairwise accuracy of train users on\n"
            "test prompts and of unseen users after k few-shot pairs, for a shared linear BT model, per-user\n"
            "linear models and LoRe at each basis size, all on the same frozen phi; paired bootstrap 95%\n"
            "intervals of LoRe against both. Markdown on stdout (and --out).");
  args.Option("embedder", "DIR", "", "a BERT directory giving phi", true)
      .Option("pairs", "FILE", "", "preference pairs with train, test and fewshot splits", true)
      .Option("truth", "FILE", "", "truth.json of make-synthetic --preferences: adds the Bayes accuracy")
      .Option("bases", "LIST", "1,2,4,8,16", "LoRe basis sizes")
      .Option("shots", "LIST", "1,2,5,10,20", "few-shot pair counts k for unseen users")
      .Option("compare-basis", "B", "8", "the LoRe row tested against the baselines")
      .Option("out", "FILE", "", "also write the markdown here");
  AddLoreOptions(args);
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  SetUpCompute(args);
  pipeline::LoreComparisonOptions o;
  o.lore = LoreOptionsOf(args);
  o.bases.clear();
  for (int b : args.GetPositiveInts("bases")) o.bases.push_back(b);
  o.shots.clear();
  for (int k : args.GetPositiveInts("shots")) o.shots.push_back(k);
  o.compare_basis = args.GetInt("compare-basis");
  const auto set = data::ReadPreferenceFile(args.Get("pairs"));
  auto embedder = reward::RewardModel::Load(args.Get("embedder"), static_cast<int>(args.GetInt("max-length")));
  const std::string md =
      pipeline::CompareLore(set, *embedder, reward::PoolingByName(args.Get("pooling")), o, args.Get("truth"));
  std::fputs(md.c_str(), stdout);
  if (args.Has("out")) util::WriteFileAtomic(args.Get("out"), md);
  return 0;
}

int RunJudgeUtility(int argc, char** argv) {
  Args args("judge-utility",
            "Judge answers under each user's true utility (truth.json of make-synthetic --preferences):\n"
            "every --candidate against --baseline on the same questions (eval --completions files),\n"
            "mean true utility, difference and win rate (ties half), paired bootstrap 95% intervals.");
  args.Option("truth", "FILE", "", "truth.json of make-synthetic --preferences", true)
      .Option("baseline", "NAME=FILE", "", "the answers compared against (eval --completions)", true)
      .Option("candidate", "LIST", "", "NAME=FILE[,NAME=FILE...]: answers judged against the baseline", true)
      .Option("seed", "S", "1", "bootstrap seed")
      .Option("out", "FILE", "", "also write the markdown here");
  if (!args.Parse(argc, argv)) return 0;
  const auto named = [](const std::string& spec) {
    const size_t eq = spec.find('=');
    PRLM_REQUIRE(eq != std::string::npos && eq > 0 && eq + 1 < spec.size(),
                 "judge-utility: '" << spec << "' is not NAME=FILE");
    return std::make_pair(spec.substr(0, eq), pipeline::ReadJudgedAnswers(spec.substr(eq + 1)));
  };
  const auto truth = pipeline::ReadPreferenceTruth(args.Get("truth"));
  const auto [base_name, base] = named(args.Get("baseline"));
  std::string md = pipeline::ComparisonHeader();
  std::string gold;
  for (const auto& spec : SplitList(args.Get("candidate"))) {
    const auto [name, answers] = named(spec);
    const auto c = pipeline::CompareUnderTruth(truth, base, answers, static_cast<uint64_t>(args.GetInt("seed")));
    md += pipeline::ComparisonRow(base_name, name, c);
    if (c.utility_gold && gold.empty())
      gold = "\nThe gold answers' mean true utility: " + std::to_string(*c.utility_gold) + "\n";
  }
  md += gold;
  std::fputs(md.c_str(), stdout);
  if (args.Has("out")) util::WriteFileAtomic(args.Get("out"), md);
  return 0;
}

}  // namespace prlm::cli
