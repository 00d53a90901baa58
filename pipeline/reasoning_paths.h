// `prlm make-reasoning`'s writers: for each training question, a reasoning
// path that summarises the user's preferences and bridges to the expected
// output (REST-PG's stage 1; data/reasoning_file.h is the file).
//
// The oracle writer (synthetic data only) derives the path from the user's
// true style in make-synthetic's styles.json -- casing, habitual opening and
// closing, preferred words, length -- so a small model sft-trained on it
// learns to read those off the retrieved profile instead of copying one fixed
// sentence. Text tasks only (LaMP-4 to 7, LongLaMP): the label tasks' habits
// are not styles.
//
// Errors: a styles.json of another task, or without a user of the split:
// util::Error naming the file and the user. Thread-safety: pure functions.
#pragma once

#include <nlohmann/json.hpp>

#include <string>
#include <vector>

#include "common/data/dataset.h"
#include "common/data/reasoning_file.h"

namespace prlm::pipeline {

struct ReasoningStats {
  size_t written = 0, leaks = 0;
  size_t not_asked = 0, empty = 0;  // the teacher writer's questions without a path
  std::string first_error;          // why the first question not asked was not
  // "N repeat the expected output[; N questions could not be asked (the
  // first: why), N got no reasoning]" (the second part for the teacher).
  std::string Summary(bool teacher) const;
};

// One user's style (a styles.json "styles" entry) in words, ending in the
// bridge to the output.
std::string DescribeStyle(const data::TaskSpec& task, const nlohmann::json& style);

// A path per question of `split` (its order), from `styles` (styles.json,
// read from `styles_path`, named in errors).
std::vector<data::ReasoningPath> OracleReasoning(const data::Dataset& split, const nlohmann::json& styles,
                                                 const std::string& styles_path, ReasoningStats* stats);
// The same from DATA_DIR/styles.json (make-synthetic writes it); throws
// util::Error naming the file when it cannot be read or is not JSON.
std::vector<data::ReasoningPath> OracleReasoning(const data::Dataset& split, const std::string& data_dir,
                                                 ReasoningStats* stats);

}  // namespace prlm::pipeline
