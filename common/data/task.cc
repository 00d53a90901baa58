#include "common/data/task.h"

#include <algorithm>
#include <cctype>

#include "common/text/unicode.h"
#include "common/util/check.h"

namespace prlm::data {
namespace {

std::vector<TaskSpec> MakeTasks() {
  auto req = [](std::string n) { return FieldSpec{std::move(n), true}; };
  auto opt = [](std::string n) { return FieldSpec{std::move(n), false}; };
  const Benchmark L = Benchmark::kLamp, LL = Benchmark::kLongLamp;
  const TaskMetric kClass = TaskMetric::kClassification, kRate = TaskMetric::kRating, kGen = TaskMetric::kGeneration;
  const std::vector<std::string> movie_tags = {
      "sci-fi",    "based on a book", "comedy",  "action",  "twist ending",      "dystopia",          "dark comedy",
      "classic",   "psychology",      "fantasy", "romance", "thought-provoking", "social commentary", "violence",
      "true story"};
  const std::vector<std::string> news_categories = {
      "women",          "religion",       "politics",    "style & beauty",
      "entertainment",  "culture & arts", "sports",      "science & technology",
      "travel",         "business",       "crime",       "education",
      "healthy living", "parents",        "food & drink"};
  return {
      {"LaMP_1",
       L,
       "citation identification",
       {req("title"), req("abstract")},
       {"title"},
       "",
       "",
       true,
       kClass,
       {"[1]", "[2]"},
       "reference"},
      {"LaMP_2",
       L,
       "movie tagging",
       {req("description"), req("tag")},
       {"description"},
       "tag",
       "description:",
       true,
       kClass,
       movie_tags,
       "tag"},
      {"LaMP_2N",
       L,
       "news categorization (LaMP-2's older variant)",
       {req("title"), req("text"), req("category")},
       {"title", "text"},
       "category",
       "article:",
       true,
       kClass,
       news_categories,
       "category"},
      {"LaMP_3",
       L,
       "product rating",
       {req("text"), req("score")},
       {"text"},
       "score",
       "review:",
       true,
       kRate,
       {"1", "2", "3", "4", "5"},
       "score"},
      {"LaMP_4",
       L,
       "news headline generation",
       {req("text"), req("title")},
       {"title", "text"},
       "title",
       "article:",
       true,
       kGen,
       {},
       "title"},
      {"LaMP_5",
       L,
       "scholarly title generation",
       {req("title"), req("abstract")},
       {"title", "abstract"},
       "title",
       ":",
       true,
       kGen,
       {},
       "title"},
      {"LaMP_6",
       L,
       "email subject generation",
       {req("text"), req("title")},
       {"title", "text"},
       "title",
       ":",
       true,
       kGen,
       {},
       "title"},
      {"LaMP_7", L, "tweet paraphrasing", {req("text")}, {"text"}, "text", ":", true, kGen, {}, "tweet"},
      {"LongLaMP_abstract_generation",
       LL,
       "abstract generation",
       {req("title"), req("abstract")},
       {"title", "abstract"},
       "abstract",
       "",
       true,
       kGen,
       {},
       "abstract"},
      {"LongLaMP_product_review",
       LL,
       "product review writing",
       {opt("overall"), opt("summary"), opt("description"), req("reviewText")},
       {"summary", "reviewText"},
       "reviewText",
       "",
       true,
       kGen,
       {},
       "review"},
      {"LongLaMP_topic_writing",
       LL,
       "topic writing",
       {opt("summary"), req("content")},
       {"summary", "content"},
       "content",
       "",
       true,
       kGen,
       {},
       "post"},
  };
}

std::string Normalized(std::string_view s) {
  std::string out;
  for (char c : s)
    if (std::isalnum(static_cast<unsigned char>(c))) out += std::tolower(static_cast<unsigned char>(c));
  return out;
}

}  // namespace

const std::vector<TaskSpec>& AllTasks() {
  static const std::vector<TaskSpec> tasks = MakeTasks();
  return tasks;
}

const TaskSpec* TaskOrNull(std::string_view name) { return name.empty() ? nullptr : &TaskByName(name); }

const TaskSpec& TaskByName(std::string_view name) {
  const std::string want = Normalized(name);
  for (const auto& t : AllTasks()) {
    const std::string full = Normalized(t.name);
    // "lamp4", "4", "longlampproductreview", "productreview"
    std::string tail = full.substr(full.rfind("lamp") + 4);
    if (want == full || want == tail) return t;
  }
  std::string known;
  for (const auto& t : AllTasks()) known += (known.empty() ? "" : ", ") + t.name;
  PRLM_THROW("unknown task '" << name << "'; known tasks: " << known);
}

std::vector<std::string_view> QuotedStrings(std::string_view text) {
  std::vector<std::string_view> quoted;
  size_t pos = 0;
  while (true) {
    const size_t open = text.find('"', pos);
    if (open == std::string_view::npos) break;
    const size_t close = text.find('"', open + 1);
    if (close == std::string_view::npos) break;
    quoted.push_back(text.substr(open + 1, close - open - 1));
    pos = close + 1;
  }
  return quoted;
}

std::string ExtractQuery(const TaskSpec& task, std::string_view input, bool* anchor_found) {
  if (anchor_found) *anchor_found = true;
  if (task.name == "LaMP_1") {
    // "... [1] "title one" or [2] "title two"? ..." -> both candidate titles.
    const std::vector<std::string_view> quoted = QuotedStrings(input);
    if (quoted.size() >= 2) {
      const size_t first = quoted.size() >= 3 ? 1 : 0;  // LaMP skips the quoted paper title
      return std::string(quoted[first]) + " " + std::string(quoted[first + 1]);
    }
  } else if (!task.query_anchor.empty()) {
    size_t at = input.find(task.query_anchor);
    if (at != std::string_view::npos)
      return std::string(text::StripAsciiSpace(input.substr(at + task.query_anchor.size())));
  } else {
    return std::string(text::StripAsciiSpace(input));
  }
  if (anchor_found) *anchor_found = false;
  return std::string(text::StripAsciiSpace(input));
}

}  // namespace prlm::data
