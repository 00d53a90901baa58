// Synthetic per-user preferences for LoRe (docs/synthetic_data.md, "The
// story of the preference users"): every user's utility is a mixture of
// B* = 5 latent criteria measured on the response text,
//
//   length     min(words, 80) / 80
//   formality  formal markers / (formal + casual markers), 0.5 with neither
//   topic      mentions of money (budget, cost, cheap, ...), at most 2, / 2
//   emoji      emoji, at most 3, / 3
//   hedging    hedges (perhaps, I think, might, ...), at most 2, / 2
//
// u_i(y) = sum_k w_ik f_k(y), w_i drawn from a Dirichlet(alpha) (few
// criteria matter to each user). A pair (y1, y2) for a prompt is labelled
// by the user: y1 chosen with probability sigmoid(beta (u_i(y1) - u_i(y2))),
// so the Bayes accuracy (the truth's own accuracy under this noise) is the
// mean of max(p, 1 - p), reported with the data.
//
// Splits: seen users have train pairs and test pairs on prompts no train
// pair uses; unseen users have fewshot pairs (for adaptation) and test pairs.
//
// Thread-safety: plain functions.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/data/preference_file.h"

namespace prlm::pipeline {

constexpr int kPreferenceCriteria = 5;
extern const std::array<const char*, kPreferenceCriteria> kPreferenceCriterionNames;

// The five criteria of `text`, each in [0, 1].
std::array<double, kPreferenceCriteria> PreferenceFeatures(const std::string& text);

struct PreferenceUser {
  std::string id;
  bool seen = true;
  std::array<double, kPreferenceCriteria> weights{};  // on the simplex
};

struct SyntheticPreferenceOptions {
  int seen_users = 40, unseen_users = 20;
  int train_pairs = 60, test_pairs = 30, fewshot_pairs = 20;  // per user
  double alpha = 0.3;                                         // Dirichlet concentration of the mixtures
  double beta = 12;                                           // label sharpness
  uint64_t seed = 1;
};

struct SyntheticPreferences {
  std::vector<PreferenceUser> users;
  std::vector<data::PreferencePair> pairs;
  // Bayes accuracy of the test pairs of seen and of unseen users.
  double bayes_seen = 0, bayes_unseen = 0;
};

SyntheticPreferences MakeSyntheticPreferences(const SyntheticPreferenceOptions& options);

// DIR/pairs.jsonl (preference_file.h) and DIR/truth.json (criteria, beta,
// alpha, each user's weights and whether seen, the Bayes accuracies).
void WriteSyntheticPreferences(const SyntheticPreferences& data, const SyntheticPreferenceOptions& options,
                               const std::string& dir);

// The users of a truth.json that WriteSyntheticPreferences wrote, by id.
// Throws util::Error naming the file and user for malformed JSON, a missing
// "users" object, or weights that are not kPreferenceCriteria numbers.
std::map<std::string, PreferenceUser> ReadPreferenceTruth(const std::string& path);

// A user's true utility of `text`.
double TrueUtility(const PreferenceUser& user, const std::string& text);

}  // namespace prlm::pipeline
