// LoRe's commands: train-lore, adapt-user, eval-lore (pipeline/lore_pipeline.h).
#include <cstdio>

#include "cli/commands.h"
#include "common/data/preference_file.h"
#include "common/reward/reward_model.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "options/args.h"
#include "options/compute_options.h"
#include "options/lore_options.h"
#include "pipeline/lore_pipeline.h"
#include "pipeline/true_utility_win_rate.h"

namespace prlm::cli {

int RunTrainLore(int argc, char** argv) {
  options::Args args("train-lore",
                     "Fit LoRe (docs/lore.md): a shared basis V of B reward directions on a frozen BERT's phi(prompt,\n"
                     "response) and every train user's mixture weights, by the per-user Bradley-Terry loss. Reports\n"
                     "pairwise accuracy on the train users' test pairs; writes DIR/lore.safetensors and lore.json.");
  reward::LoreOptions o;
  args.Option("embedder", "DIR", "", "a BERT directory (e.g. a train-rm reward model) giving phi", true)
      .Option("pairs", "FILE", "", "preference pairs (JSON lines; the train split is fitted)", true)
      .Bind("basis", "B", &o.basis, "basis columns before pruning")
      .Option("out", "DIR", "", "the LoRe model directory", true);
  options::AddLoreOptions(args, &o);
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  options::CheckLoreOptions(o);
  options::SetUpCompute(args);
  const auto set = data::ReadPreferenceFile(args.Get("pairs"));
  auto embedder = reward::RewardModel::Load(args.Get("embedder"), args.GetInt("max-length"));
  std::fputs(pipeline::TrainLoreOnSet(set, args.Get("pairs"), *embedder, args.Get("embedder"), args.Get("pooling"), o,
                                      args.Get("out"))
                 .c_str(),
             stdout);
  std::printf("train-lore: wrote %s\n", args.Get("out").c_str());
  return 0;
}

int RunAdaptUser(int argc, char** argv) {
  options::Args args(
      "adapt-user",
      "Fit one user's LoRe mixture weights from a few preference pairs with the basis frozen, and add\n"
      "(or replace) the user in the model's table. Prints the weights and, when the file has test pairs\n"
      "of the user, the pairwise accuracy on them before (population mean weights) and after.");
  reward::LoreOptions o;
  args.Option("lore", "DIR", "", "a LoRe model directory (train-lore)", true)
      .Option("user", "ID", "", "the user's id", true)
      .Option("pairs", "FILE", "", "preference pairs; the user's fewshot and train pairs are fitted", true)
      .Option("k", "N", "0", "fit on the user's first N pairs only (0: all)")
      .Bind("adapt-iterations", "N", &o.adapt_iterations, "Adam steps")
      .Bind("adapt-lr", "X", &o.adapt_lr, "Adam learning rate")
      .Option("max-length", "N", "256", "tokens per (prompt, response)");
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  options::SetUpCompute(args);
  const auto set = data::ReadPreferenceFile(args.Get("pairs"));
  std::fputs(pipeline::AdaptLoreUser(args.Get("lore"), args.Get("user"), set, args.Get("pairs"), args.GetInt64("k"), o,
                                     args.GetInt("max-length"))
                 .c_str(),
             stdout);
  return 0;
}

int RunEvalLore(int argc, char** argv) {
  options::Args args("eval-lore",
                     "LoRe's comparison on preference pairs (the paper's table): pairwise accuracy of train users on\n"
                     "test prompts and of unseen users after k few-shot pairs, for a shared linear BT model, per-user\n"
                     "linear models and LoRe at each basis size, all on the same frozen phi; paired bootstrap 95%\n"
                     "intervals of LoRe against both. Markdown on stdout (and --out).");
  pipeline::LoreComparisonOptions o;
  args.Option("embedder", "DIR", "", "a BERT directory giving phi", true)
      .Option("pairs", "FILE", "", "preference pairs with train, test and fewshot splits", true)
      .Option("truth", "FILE", "", "truth.json of make-synthetic --preferences: adds the Bayes accuracy")
      .Bind("bases", "LIST", &o.bases, "LoRe basis sizes")
      .Bind("shots", "LIST", &o.shots, "few-shot pair counts k for unseen users")
      .Bind("compare-basis", "B", &o.compare_basis, "the LoRe row tested against the baselines")
      .Option("out", "FILE", "", "also write the markdown here");
  options::AddLoreOptions(args, &o.lore);
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  options::CheckLoreOptions(o.lore);
  options::SetUpCompute(args);
  const auto set = data::ReadPreferenceFile(args.Get("pairs"));
  auto embedder = reward::RewardModel::Load(args.Get("embedder"), args.GetInt("max-length"));
  const std::string md =
      pipeline::CompareLore(set, *embedder, reward::PoolingByName(args.Get("pooling")), o, args.Get("truth"));
  std::fputs(md.c_str(), stdout);
  if (args.Has("out")) util::WriteFileAtomic(args.Get("out"), md);
  return 0;
}

int RunJudgeUtility(int argc, char** argv) {
  options::Args args("judge-utility",
                     "Judge answers under each user's true utility (truth.json of make-synthetic --preferences):\n"
                     "every --candidate against --baseline on the same questions (eval --completions files),\n"
                     "mean true utility, difference and win rate (ties half), paired bootstrap 95% intervals.");
  args.Option("truth", "FILE", "", "truth.json of make-synthetic --preferences", true)
      .Option("baseline", "NAME=FILE", "", "the answers compared against (eval --completions)", true)
      .Option("candidate", "LIST", "", "NAME=FILE[,NAME=FILE...]: answers judged against the baseline", true)
      .Option("seed", "S", "1", "bootstrap seed")
      .Option("out", "FILE", "", "also write the markdown here");
  if (!args.Parse(argc, argv)) return 0;
  const std::string md = pipeline::JudgeUnderTruth(args.Get("truth"), args.Get("baseline"),
                                                   options::SplitList(args.Get("candidate")), args.GetUint64("seed"));
  std::fputs(md.c_str(), stdout);
  if (args.Has("out")) util::WriteFileAtomic(args.Get("out"), md);
  return 0;
}

}  // namespace prlm::cli
