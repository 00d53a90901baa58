#include "common/data/dataset.h"

#include <algorithm>
#include <charconv>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <unordered_map>
#include <unordered_set>

#include "common/data/json_file.h"
#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::data {
namespace {

constexpr const char* kLampSplits[] = {"train", "dev", "test", "val"};

std::string BaseName(const std::string& path) { return std::filesystem::path(path).filename().string(); }

std::string RecordWhere(const std::string& file, size_t index, std::string_view id) {
  std::string w = file + ": record " + std::to_string(index);
  if (!id.empty()) w += " (id '" + std::string(id) + "')";
  return w;
}

// Reads one profile item of `task`. The item's "id" may be a string or a
// number; LongLaMP items often have none, and get "<user>_<index>".
ProfileItem ReadItem(const TaskSpec& task, simdjson::dom::element e, const std::string& where_record, size_t index,
                     const std::string& user_for_ids) {
  std::string where = where_record + ": profile item " + std::to_string(index);
  simdjson::dom::object obj = RequireObject(e, where);
  ProfileItem item;
  if (!OptionalScalarText(obj, "id", where, &item.id))
    item.id = user_for_ids + "_" + std::to_string(index);
  else
    where += " (id '" + item.id + "')";
  std::string date;
  if (OptionalScalarText(obj, "date", where, &date) || OptionalScalarText(obj, "year", where, &date)) {
    auto key = ParseDateKey(date);
    PRLM_REQUIRE(key, where << ": field 'date' is '" << date << "', expected YYYY-MM-DD or a year");
    item.date = date;
    item.date_key = *key;
  }
  const bool topic_writing = task.name == "LongLaMP_topic_writing";
  for (const auto& field : task.profile_fields) {
    std::string value;
    bool present = OptionalScalarText(obj, field.name, where, &value);
    // Older topic-writing files hold items as {input, output}.
    if (!present && topic_writing)
      present = OptionalScalarText(obj, field.name == "content" ? "output" : "input", where, &value);
    if (!present && field.required && task.name == "LaMP_6")
      PRLM_THROW(where << ": field '" << field.name << "' missing. LaMP-6 is released without its emails: "
                       << "profile items carry only email ids and inputs a file name; fill in each email's "
                       << "subject (title) and body (text) from the Avocado corpus under its licence "
                       << "(docs/lamp_data.md)");
    PRLM_REQUIRE(present || !field.required, where << ": field '" << field.name << "' missing");
    if (present) item.fields.emplace_back(field.name, std::move(value));
  }
  return item;
}

std::vector<ProfileItem> ReadProfile(const TaskSpec& task, simdjson::dom::object record, const std::string& where,
                                     const std::string& user_for_ids) {
  simdjson::dom::array arr = RequireArray(record, "profile", where);
  std::vector<ProfileItem> profile;
  profile.reserve(arr.size());
  size_t i = 0;
  for (simdjson::dom::element e : arr) profile.push_back(ReadItem(task, e, where, i++, user_for_ids));
  PRLM_REQUIRE(!profile.empty() || !task.requires_profile,
               where << ": field 'profile' is empty; task " << task.name << " needs a profile");
  return profile;
}

// The first character of `path` that is not white space ('\0' for none).
char FirstNonSpace(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  for (char c; in.get(c);)
    if (c != ' ' && c != '\t' && c != '\r' && c != '\n') return c;
  return '\0';
}

// The task a file's "task" field names, checked against the one asked for
// (LaMP_2 also matches LaMP_2N); `*task` is set when none was asked for.
void TakeNamedTask(simdjson::dom::object root, const std::string& file, const TaskSpec** task) {
  std::string name;
  if (!OptionalString(root, "task", file, &name)) return;
  const TaskSpec& named = TaskByName(name);
  PRLM_REQUIRE(!*task || (*task)->name.rfind(named.name, 0) == 0,
               file << ": says task '" << name << "' but " << (*task)->name << " was asked for");
  if (!*task) *task = &named;
}

// What a profile says, without its item ids: dates and fields in order.
std::string ProfileContent(const std::vector<ProfileItem>& profile) {
  std::string key;
  for (const auto& item : profile) {
    key += item.date;
    key += '\x1f';
    for (const auto& [name, value] : item.fields) key += name + '\x1f' + value + '\x1f';
    key += '\x1e';
  }
  return key;
}

// LaMP_2 files name the task "LaMP_2" for both the movie and the older news
// variant; the items tell which.
const TaskSpec* RefineLamp2(const TaskSpec* task, simdjson::dom::array questions) {
  if (task->name != "LaMP_2") return task;
  for (simdjson::dom::element q : questions) {
    if (!q.is_object()) break;
    auto profile = q.get_object().value_unsafe()["profile"];
    if (profile.error() || !profile.value_unsafe().is_array()) break;
    const simdjson::dom::array items = profile.value_unsafe().get_array().value_unsafe();
    for (simdjson::dom::element item : items) {
      if (item.is_object() && item.get_object().value_unsafe()["category"].error() == simdjson::SUCCESS)
        return &TaskByName("LaMP_2N");
      return task;
    }
  }
  return task;
}

}  // namespace

const std::string* ProfileItem::Field(std::string_view name) const {
  for (const auto& [k, v] : fields)
    if (k == name) return &v;
  return nullptr;
}

std::optional<int32_t> ParseDateKey(std::string_view date) {
  auto number = [](std::string_view s, int lo, int hi) -> std::optional<int> {
    int v = 0;
    if (s.empty() || s.size() > 4) return std::nullopt;
    auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || p != s.data() + s.size() || v < lo || v > hi) return std::nullopt;
    return v;
  };
  if (date.size() == 4) {
    auto y = number(date, 0, 9999);
    if (y) return *y * 10000;
    return std::nullopt;
  }
  if (date.size() != 10 || date[4] != '-' || date[7] != '-') return std::nullopt;
  auto y = number(date.substr(0, 4), 0, 9999), m = number(date.substr(5, 2), 1, 12),
       d = number(date.substr(8, 2), 1, 31);
  if (!y || !m || !d) return std::nullopt;
  return *y * 10000 + *m * 100 + *d;
}

std::string CorpusText(const TaskSpec& task, const ProfileItem& item) {
  std::string text;
  for (const auto& name : task.corpus_fields) {
    const std::string* v = item.Field(name);
    if (!v) continue;
    if (!text.empty()) text += ' ';
    text += *v;
  }
  return text;
}

Dataset LoadLamp(const std::string& questions_path, const std::string& outputs_path, const TaskSpec* task) {
  const std::string qfile = BaseName(questions_path);
  Dataset ds;
  ds.source = questions_path;

  // 1. Outputs first: they name the task.
  std::unordered_map<std::string, std::string> golds;
  std::vector<std::string> gold_order;
  if (!outputs_path.empty()) {
    const std::string ofile = BaseName(outputs_path);
    JsonDocument doc(outputs_path);
    simdjson::dom::object root = RequireObject(doc.root(), ofile + ": the top level");
    TakeNamedTask(root, ofile, &task);
    size_t i = 0;
    for (simdjson::dom::element e : RequireArray(root, "golds", ofile)) {
      std::string where = ofile + ": gold " + std::to_string(i);
      simdjson::dom::object g = RequireObject(e, where);
      std::string id, output;
      PRLM_REQUIRE(OptionalScalarText(g, "id", where, &id), where << ": field 'id' missing");
      where += " (id '" + id + "')";
      PRLM_REQUIRE(OptionalScalarText(g, "output", where, &output), where << ": field 'output' missing");
      PRLM_REQUIRE(golds.emplace(id, std::move(output)).second, where << ": duplicated id '" << id << "'");
      gold_order.push_back(id);
      ++i;
    }
    ds.source += " + " + outputs_path;
  }

  // 2. Questions: a JSON array, or (as LaMP's builder writes LaMP-6's test
  // split) wrapped like an outputs file, {"task": ..., "golds": [questions]}.
  JsonDocument doc(questions_path);
  simdjson::dom::array questions;
  if (doc.root().is_object()) {
    simdjson::dom::object root = doc.root().get_object().value_unsafe();
    TakeNamedTask(root, qfile, &task);
    PRLM_REQUIRE(root["golds"].error() == simdjson::SUCCESS || root["questions"].error() == simdjson::SUCCESS,
                 qfile << ": the top level is an object without a \"golds\" or \"questions\" array; expected an "
                          "array of questions");
    questions = RequireArray(root, root["golds"].error() == simdjson::SUCCESS ? "golds" : "questions", qfile);
  } else {
    PRLM_REQUIRE(doc.root().is_array(), qfile << ": the top level is " << JsonTypeName(doc.root().type())
                                              << ", expected an array of questions");
    questions = doc.root().get_array().value_unsafe();
  }
  PRLM_REQUIRE(task, qfile << ": cannot tell the task; give it (e.g. --task LaMP_4) or an outputs "
                              "file with a \"task\" field");
  task = RefineLamp2(task, questions);
  ds.task = task;
  ds.examples.reserve(questions.size());
  std::unordered_map<std::string_view, size_t> seen;  // id -> record index
  seen.reserve(questions.size());
  // Questions without a user_id whose profiles hold the same items (LaMP-2
  // renumbers a user's item ids per question) are one user, indexed once.
  std::unordered_map<std::string, size_t> by_profile;  // profile content -> first record with it
  size_t index = 0;
  for (simdjson::dom::element e : questions) {
    std::string where = RecordWhere(qfile, index, "");
    simdjson::dom::object q = RequireObject(e, where);
    Example ex;
    PRLM_REQUIRE(OptionalScalarText(q, "id", where, &ex.id), where << ": field 'id' missing");
    where = RecordWhere(qfile, index, ex.id);
    ex.input = std::string(RequireString(q, "input", where));
    const bool has_user = OptionalScalarText(q, "user_id", where, &ex.user_id);
    if (!has_user) ex.user_id = ex.id;
    ex.query = ExtractQuery(*task, ex.input);
    ex.profile = ReadProfile(*task, q, where, ex.user_id);
    if (!has_user && !ex.profile.empty()) {
      const auto [first, fresh] = by_profile.emplace(ProfileContent(ex.profile), ds.examples.size());
      if (!fresh) {
        const Example& owner = ds.examples[first->second];
        ex.user_id = owner.user_id;
        ex.profile = owner.profile;  // the same items under the ids the index keeps
      }
    }
    if (!golds.empty() || !outputs_path.empty()) {
      auto it = golds.find(ex.id);
      PRLM_REQUIRE(it != golds.end(), where << ": no gold output with this id in " << BaseName(outputs_path));
      ex.output = std::move(it->second);
      golds.erase(it);
    }
    ds.examples.push_back(std::move(ex));
    auto [prev, fresh] = seen.emplace(ds.examples.back().id, index);
    PRLM_REQUIRE(fresh, where << ": duplicated id; record " << prev->second << " has it too");
    ++index;
  }
  if (!golds.empty()) {
    for (const auto& id : gold_order)
      PRLM_REQUIRE(!golds.count(id), BaseName(outputs_path) << ": gold output for id '" << id << "' has no question in "
                                                            << qfile << " (" << golds.size() << " such outputs)");
  }
  return ds;
}

const TaskSpec* TaskOfSplits(const std::string& dir) {
  const TaskSpec* found = nullptr;
  std::string found_in;
  for (const char* split : kLampSplits) {
    for (const char* kind : {"_outputs.json", "_questions.json"}) {
      const std::string path = dir + "/" + split + kind;
      if (!std::filesystem::exists(path)) continue;
      // Only an object names a task (an outputs file, or a wrapped questions
      // file): a questions array, however large, is not read here.
      if (FirstNonSpace(path) != '{') continue;
      // A sibling that cannot be read names no task here; its own split reports it.
      std::string name;
      try {
        JsonDocument doc(path);
        if (!doc.root().is_object() ||
            !OptionalString(doc.root().get_object().value_unsafe(), "task", BaseName(path), &name))
          continue;
      } catch (const util::Error&) {
        continue;
      }
      const TaskSpec* task = &TaskByName(name);
      PRLM_REQUIRE(!found || found == task, dir << ": the splits disagree on the task: " << found_in << " says "
                                                << found->name << ", " << BaseName(path) << " says " << name);
      found = task;
      found_in = BaseName(path);
    }
  }
  return found;
}

Dataset LoadLampSplit(const std::string& dir, const std::string& split, const TaskSpec* task) {
  const std::string q = dir + "/" + split + "_questions.json";
  const std::string o = dir + "/" + split + "_outputs.json";
  PRLM_REQUIRE(std::filesystem::exists(q), "no " << split << "_questions.json in " << dir);
  // A split without outputs (LaMP's hidden test golds) takes the task its siblings name.
  if (!task) task = TaskOfSplits(dir);
  return LoadLamp(q, std::filesystem::exists(o) ? o : "", task);
}

std::vector<Dataset> LoadLampSplits(const std::string& dir, const TaskSpec* task, std::vector<std::string>* failures) {
  std::vector<Dataset> splits;
  if (!task) task = TaskOfSplits(dir);  // once for every split
  bool any = false;
  for (const char* split : kLampSplits) {
    if (!std::filesystem::exists(dir + "/" + split + "_questions.json")) continue;
    any = true;
    if (!failures) {
      splits.push_back(LoadLampSplit(dir, split, task));
      continue;
    }
    try {
      splits.push_back(LoadLampSplit(dir, split, task));
    } catch (const util::Error& e) {
      failures->push_back(std::string(split) + ": " + e.what());
    }
  }
  PRLM_REQUIRE(any, dir << ": no {train,dev,test,val}_questions.json here");
  PRLM_REQUIRE(!splits.empty(), dir << ": no split could be read; the first: " << failures->front());
  return splits;
}

Dataset LoadLongLamp(const std::string& path, const TaskSpec& task) {
  PRLM_REQUIRE(task.benchmark == Benchmark::kLongLamp, path << ": " << task.name << " is not a LongLaMP task");
  const std::string file = BaseName(path);
  Dataset ds;
  ds.task = &task;
  ds.source = path;
  std::unordered_set<std::string> user_ids;

  auto read_record = [&](simdjson::dom::element e, size_t index, const std::string& where0) {
    simdjson::dom::object r = RequireObject(e, where0);
    Example ex;
    ex.id = std::to_string(index);
    std::string where = where0;
    for (const char* key : {"reviewerId", "name", "author", "user_id"})
      if (OptionalScalarText(r, key, where, &ex.user_id)) break;
    if (ex.user_id.empty()) ex.user_id = "user_" + std::to_string(index);
    where += " (user '" + ex.user_id + "')";
    std::string id;
    if (OptionalScalarText(r, "id", where, &id)) ex.id = id;
    ex.input = std::string(RequireString(r, "input", where));
    ex.query = ExtractQuery(task, ex.input);
    std::string output;
    if (OptionalString(r, "output", where, &output)) ex.output = std::move(output);
    ex.profile = ReadProfile(task, r, where, ex.user_id);
    ds.examples.push_back(std::move(ex));
  };

  // JSON array, or JSON lines (one record per line).
  const std::string text = util::ReadFile(path);
  size_t first = text.find_first_not_of(" \t\r\n");
  if (first != std::string::npos && text[first] == '[') {
    JsonDocument doc(path);
    size_t i = 0;
    PRLM_REQUIRE(doc.root().is_array(), file << ": the top level is not an array of records");
    const simdjson::dom::array records = doc.root().get_array().value_unsafe();
    for (simdjson::dom::element e : records) {
      read_record(e, i, file + ": record " + std::to_string(i));
      ++i;
    }
  } else {
    size_t line_no = 0, start = 0, index = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      ++line_no;
      std::string_view line(text.data() + start, end - start);
      if (line.find_first_not_of(" \t\r") != std::string_view::npos) {
        const std::string where = file + ": line " + std::to_string(line_no);
        JsonDocument doc(line, where);
        read_record(doc.root(), index++, where);
      }
      start = end + 1;
    }
  }
  std::unordered_map<std::string, size_t> seen;
  for (size_t i = 0; i < ds.examples.size(); ++i) {
    auto [prev, fresh] = seen.emplace(ds.examples[i].id, i);
    PRLM_REQUIRE(fresh, file << ": record " << i << ": duplicated id '" << ds.examples[i].id << "'; record "
                             << prev->second << " has it too");
  }
  return ds;
}

DatasetStats ComputeStats(const Dataset& ds) {
  DatasetStats s;
  s.examples = ds.examples.size();
  std::unordered_set<std::string_view> users;
  std::vector<size_t> sizes;
  double input_chars = 0, output_chars = 0, item_chars = 0;
  for (const auto& ex : ds.examples) {
    users.insert(ex.user_id);
    sizes.push_back(ex.profile.size());
    s.profile_items += ex.profile.size();
    input_chars += ex.input.size();
    if (ex.output) {
      ++s.with_output;
      output_chars += ex.output->size();
    }
    bool anchor = true;
    ExtractQuery(*ds.task, ex.input, &anchor);
    if (!anchor) ++s.queries_without_anchor;
    std::unordered_set<std::string_view> item_ids;
    for (const auto& item : ex.profile) {
      if (item.date_key < 0) ++s.items_without_date;
      if (!item_ids.insert(item.id).second) ++s.duplicate_item_ids;
      for (const auto& [k, v] : item.fields) item_chars += v.size();
    }
  }
  s.users = users.size();
  if (!sizes.empty()) {
    std::sort(sizes.begin(), sizes.end());
    s.min_profile = sizes.front();
    s.max_profile = sizes.back();
    s.median_profile =
        sizes.size() % 2 ? sizes[sizes.size() / 2] : 0.5 * (sizes[sizes.size() / 2 - 1] + sizes[sizes.size() / 2]);
    s.mean_profile = double(s.profile_items) / sizes.size();
    s.mean_input_chars = input_chars / s.examples;
  }
  if (s.with_output) s.mean_output_chars = output_chars / s.with_output;
  if (s.profile_items) s.mean_item_chars = item_chars / s.profile_items;
  return s;
}

std::string FormatStats(const Dataset& ds, const DatasetStats& s) {
  char buf[1024];
  std::snprintf(buf, sizeof buf,
                "task               %s (%s)\n"
                "examples           %zu (%zu with gold output)\n"
                "users              %zu\n"
                "profile items      %zu; per example min %zu, median %.1f, mean %.1f, max %zu\n"
                "mean length        input %.0f chars, output %.0f chars, item %.0f chars\n"
                "items without date %zu\n"
                "duplicate item ids %zu (within one profile)\n"
                "inputs without the task's query anchor %zu (query = whole input)\n",
                ds.task->name.c_str(), ds.task->description.c_str(), s.examples, s.with_output, s.users,
                s.profile_items, s.min_profile, s.median_profile, s.mean_profile, s.max_profile, s.mean_input_chars,
                s.mean_output_chars, s.mean_item_chars, s.items_without_date, s.duplicate_item_ids,
                s.queries_without_anchor);
  return buf;
}

void KeepWindow(Dataset* dataset, size_t offset, size_t limit) {
  auto& examples = dataset->examples;
  PRLM_REQUIRE(offset == 0 || offset < examples.size(),
               dataset->source << ": cannot skip " << offset << " questions of " << examples.size());
  examples.erase(examples.begin(), examples.begin() + static_cast<std::ptrdiff_t>(offset));
  if (limit > 0 && limit < examples.size()) examples.resize(limit);
}

}  // namespace prlm::data
