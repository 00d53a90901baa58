// The benchmark tasks prlm reads: LaMP 1-7 (with LaMP-2's older news variant)
// and LongLaMP's three public configurations.
//
// A TaskSpec says what a profile item of the task holds (its fields, which are
// required), how the retrieval query is cut out of the example's input (LaMP's
// anchors), which fields make an item's retrieval text, and which field is the
// "output" a user writes (for prompts). The table is static and immutable, so
// it is safe to read from any thread.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace prlm::data {

enum class Benchmark { kLamp, kLongLamp };

// How a task's answers are scored (LaMP's and LongLaMP's evaluators):
//  kClassification  accuracy and macro F1 over the task's label set (LaMP-1, 2)
//  kRating          MAE and RMSE of the number (LaMP-3)
//  kGeneration      ROUGE-1 and ROUGE-L F (LaMP-4 to 7), plus METEOR for LongLaMP
enum class TaskMetric { kClassification, kRating, kGeneration };

struct FieldSpec {
  std::string name;
  bool required = true;
};

struct TaskSpec {
  std::string name;  // "LaMP_4", "LaMP_2N" (news), "LongLaMP_product_review"
  Benchmark benchmark;
  std::string description;  // one line, for messages and `check-data`
  std::vector<FieldSpec> profile_fields;
  // Retrieval text of an item: these fields joined by one space (LaMP's corpus).
  std::vector<std::string> corpus_fields;
  // The field a user "writes" in this task (the title of LaMP-4's articles);
  // empty where the output is not a profile field (LaMP-1, LaMP-3).
  std::string output_field;
  // LaMP's query: the input after the first occurrence of this anchor
  // (stripped). Empty means the whole input. LaMP-1 is special (quoted titles).
  std::string query_anchor;
  bool requires_profile = true;
  TaskMetric metric = TaskMetric::kGeneration;
  // The answers a classification or rating task accepts, in LaMP's order
  // (F1 averages over all of them); empty for generation.
  std::vector<std::string> labels;
  // The key the answer is given under: {'title': '...'}.
  std::string answer_key;
};

// Every task prlm knows, in table order.
const std::vector<TaskSpec>& AllTasks();
// By name; accepts "LaMP_4", "lamp4", "LaMP-4", "4" and the LongLaMP names
// ("product_review", "LongLaMP_product_review"). Throws util::Error listing the
// known names.
const TaskSpec& TaskByName(std::string_view name);
// The same, but nullptr for an empty name (the data's outputs file names the task).
const TaskSpec* TaskOrNull(std::string_view name);

// LaMP's query extraction for `task` (text after the anchor; for LaMP-1 the two
// candidate titles between quotes). Falls back to the whole input, stripped,
// when the anchor is absent; `anchor_found` (optional) tells which happened.
std::string ExtractQuery(const TaskSpec& task, std::string_view input, bool* anchor_found = nullptr);

// The "double-quoted" strings of a text, in order (LaMP-1's input names the
// author's paper, then the two candidates, that way). Views into `text`.
std::vector<std::string_view> QuotedStrings(std::string_view text);

}  // namespace prlm::data
