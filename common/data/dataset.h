// LaMP and LongLaMP examples in memory, and the readers that load them.
//
// An Example is one question a user asks: its input, the query cut out of the
// input, the user's profile items and (when the split has them) the gold
// output. LaMP's user-based files carry no user_id; there every question is
// its own user and user_id is the question id.
//
// Readers validate everything they keep. A problem throws util::Error whose
// message names the file, the record (index and id), the profile item and the
// field, e.g. "dev_questions.json: record 17 (id '110'): profile item 3 (id
// '1102'): field 'title' is a number, expected a string". Malformed JSON and
// invalid UTF-8 name the byte offset and line. Files of hundreds of MB parse
// with simdjson in seconds.
//
// Thread-safety: a loaded Dataset is an immutable value.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/data/task.h"

namespace prlm::data {

struct ProfileItem {
  std::string id;
  std::string date;       // as written: "2012-05-01", "2012", or "" when absent
  int32_t date_key = -1;  // YYYYMMDD (a bare year is YYYY0000); -1 without a date
  // The task's profile fields present on this item, in TaskSpec order.
  std::vector<std::pair<std::string, std::string>> fields;

  // nullptr when the item lacks the field.
  const std::string* Field(std::string_view name) const;
};

struct Example {
  std::string id;
  std::string user_id;
  std::string input;
  std::string query;                  // ExtractQuery(task, input)
  std::optional<std::string> output;  // the gold output, when the split has it
  std::vector<ProfileItem> profile;
};

struct Dataset {
  const TaskSpec* task = nullptr;
  std::string source;  // the file(s) it came from, for messages
  std::vector<Example> examples;
};

// LaMP: `questions_path` ({split}_questions.json) and optionally
// `outputs_path` ({split}_outputs.json, "" for none). The questions file is a
// JSON array, or an object {"task": ..., "golds" | "questions": [...]} (LaMP's
// builder wraps LaMP-6's test questions so). The task comes from `task`, else
// the outputs file's or the wrapper's "task"; LaMP_2 becomes LaMP_2N when the
// profile items are news articles. REQUIRES: a task from one of them.
//
// Questions without a user_id whose profiles hold the same items (dates and
// fields, in order; LaMP-2 renumbers a user's item ids per question) are one
// user: they take the first such question's id as user_id and its profile,
// so a user's profile is indexed once.
Dataset LoadLamp(const std::string& questions_path, const std::string& outputs_path, const TaskSpec* task = nullptr);

// LaMP from a directory holding {split}_questions.json [+ {split}_outputs.json].
// Without `task`, a split whose golds are hidden (no outputs file, as LaMP
// releases its test split) takes the task its sibling splits name.
Dataset LoadLampSplit(const std::string& dir, const std::string& split, const TaskSpec* task = nullptr);

// The task the files of `dir` name (outputs files, wrapped questions files);
// null when none does. Throws util::Error naming both files when two disagree.
const TaskSpec* TaskOfSplits(const std::string& dir);

// Every split of `dir` that exists, in the order train, dev, test, val.
// Throws util::Error naming `dir` when it holds none. With `failures`, a
// split that cannot be read is left out and its error ("test: ...") added
// there, so one bad split does not hide the good ones; without, it throws.
std::vector<Dataset> LoadLampSplits(const std::string& dir, const TaskSpec* task = nullptr,
                                    std::vector<std::string>* failures = nullptr);

// LongLaMP records (a JSON array or JSON lines) of a LongLaMP task:
// {reviewerId|name|author, input, output, profile:[...]}.
Dataset LoadLongLamp(const std::string& path, const TaskSpec& task);

// Keeps questions offset .. offset + limit - 1 (limit 0: all after offset).
// Throws util::Error when offset is not below the number of questions.
void KeepWindow(Dataset* dataset, size_t offset, size_t limit);

// "YYYY-MM-DD" / "YYYY" -> date_key; nullopt for anything else.
std::optional<int32_t> ParseDateKey(std::string_view date);

// The retrieval text of an item: the task's corpus fields joined by a space.
std::string CorpusText(const TaskSpec& task, const ProfileItem& item);

// Counts for `prlm check-data`.
struct DatasetStats {
  size_t examples = 0, users = 0, with_output = 0, profile_items = 0;
  size_t min_profile = 0, max_profile = 0;
  double mean_profile = 0, median_profile = 0;
  double mean_input_chars = 0, mean_output_chars = 0, mean_item_chars = 0;
  size_t items_without_date = 0, duplicate_item_ids = 0, queries_without_anchor = 0;
};
DatasetStats ComputeStats(const Dataset& dataset);
std::string FormatStats(const Dataset& dataset, const DatasetStats& stats);

}  // namespace prlm::data
