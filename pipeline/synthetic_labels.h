// Synthetic data for LaMP's classification and rating tasks (LaMP-1, 2, 2N, 3),
// where the right answer depends on the user and only the profile shows how
// (docs/synthetic_data.md tells each story):
//
//  LaMP_1   an author works on two of six research areas; of two candidate
//           papers, the one on their areas is the one they cite.
//  LaMP_2   movies come in eight kinds, each with three fitting tags; each user
//           tags every kind with their own one of the three.
//  LaMP_2N  the same for news articles, kinds and categories.
//  LaMP_3   a review's wording says how good the product is (1-5); a user is
//           harsh (-1), fair (0) or generous (+1), and scores accordingly.
//
// Profile-blind answers take the first candidate, the kind's first tag, or the
// wording's score; profile-reading answers (ProfileLabel) read the user's
// habit off the profile. Deterministic for given options. Thread-safe: pure.
#pragma once

#include <string>

#include "pipeline/synthetic.h"

namespace prlm::pipeline {

bool IsLabelTask(const data::TaskSpec& task);

// REQUIRES: IsLabelTask(task). styles and facts stay empty; truths holds each
// user's habit as JSON.
SyntheticSplits MakeLabelSynthetic(const SyntheticOptions& options);

// The answers a profile-blind and a profile-reading reader give to `example`.
std::string BlindLabel(const data::TaskSpec& task, const data::Example& example);
std::string ProfileLabel(const data::TaskSpec& task, const data::Example& example);

}  // namespace prlm::pipeline
