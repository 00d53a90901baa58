// Two systems' answers to the same questions, judged under each asking
// user's true utility (the synthetic preference users' truth.json): which
// system's answers do the users themselves prefer? This is how GRPO with
// reward.personalization=lore is compared with bt (docs/lore.md).
//
// Per question i (the same ids in both files, in any order):
//   u_a(i), u_b(i)  the true utility of each answer for the question's user
//                   (data::TrueUtility of eval's extracted "answer");
//   win(i)          1 when u_b > u_a, 0.5 on a tie, 0 otherwise.
// Reported: the mean utilities and their difference, and the win rate of b
// over a, each with a paired bootstrap 95% interval over the questions
// (common/util/paired_bootstrap.h); the gold answers' mean utility when the
// files carry golds; and each system's personalization gap: the mean over
// questions of the asking user's utility minus the mean utility the other
// users of the truth would get from the same answer (0 for answers that are
// the same whoever asks).
//
// Errors (util::Error): a completions line without "id", "user_id" or
// "answer" (file:line), an id repeated or missing from the other file, a
// user the truth does not know, no questions.
// Thread-safety: plain functions.
#pragma once

#include <cstddef>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/util/paired_bootstrap.h"
#include "pipeline/synthetic_preferences.h"

namespace prlm::pipeline {

struct JudgedAnswer {
  std::string id, user_id, answer;
  std::optional<std::string> gold;
};

// The answers of an `eval --completions` file, in file order.
std::vector<JudgedAnswer> ReadJudgedAnswers(const std::string& completions_path);

struct TrueUtilityComparison {
  size_t n = 0;
  size_t wins = 0, ties = 0, losses = 0;  // of b against a
  double utility_a = 0, utility_b = 0;
  double gap_a = 0, gap_b = 0;                 // personalization gaps
  util::BootstrapInterval utility_difference;  // b - a
  double win_rate = 0, win_low = 0, win_high = 0;
  std::optional<double> utility_gold;  // when every question has a gold
};

// REQUIRES: a and b answer the same question ids.
TrueUtilityComparison CompareUnderTruth(const std::map<std::string, pipeline::PreferenceUser>& truth,
                                        const std::vector<JudgedAnswer>& a, const std::vector<JudgedAnswer>& b,
                                        uint64_t seed = 1);

// A markdown table row: "| b vs a | n | u(a) | u(b) | u(b)-u(a) [..] | win rate [..] | W/T/L | gap a | gap b |".
std::string ComparisonHeader();
std::string ComparisonRow(const std::string& name_a, const std::string& name_b, const TrueUtilityComparison& c);

// judge-utility: every candidate ("NAME=FILE", eval --completions files)
// against the baseline ("NAME=FILE") under truth.json at `truth_path`, as a
// markdown table (and the gold answers' mean utility when the files have
// golds). Throws util::Error naming a spec that is not NAME=FILE.
std::string JudgeUnderTruth(const std::string& truth_path, const std::string& baseline,
                            const std::vector<std::string>& candidates, uint64_t seed);

}  // namespace prlm::pipeline
