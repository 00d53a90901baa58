#include "pipeline/reasoning_paths.h"

#include "common/text/unicode.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "pipeline/synthetic.h"

namespace prlm::pipeline {
namespace {

struct OutputNames {
  const char* plural;
  const char* one;
};

// What a task's outputs and inputs are called.
OutputNames NamesOf(const data::TaskSpec& task) {
  if (task.name == "LaMP_4") return {"headlines", "headline"};
  if (task.name == "LaMP_5") return {"titles", "title"};
  if (task.name == "LaMP_6") return {"subjects", "subject"};
  if (task.name == "LaMP_7") return {"tweets", "tweet"};
  if (task.name == "LongLaMP_product_review") return {"reviews", "review"};
  if (task.name == "LongLaMP_abstract_generation") return {"abstracts", "abstract"};
  if (task.name == "LongLaMP_topic_writing") return {"posts", "post"};
  PRLM_THROW("make-reasoning: the oracle writer knows the text tasks (LaMP-4 to 7, LongLaMP), not " << task.name);
}

std::string Quoted(const std::string& s) { return "\"" + s + "\""; }

}  // namespace

std::string DescribeStyle(const data::TaskSpec& task, const nlohmann::json& style) {
  // Terse on purpose: a small policy writes this before every answer.
  const OutputNames names = NamesOf(task);
  const std::string casing = style.value("casing", std::string("as written"));
  std::string out = std::string("Their ") + names.plural + ": " +
                    (casing == "upper"   ? "upper case"
                     : casing == "lower" ? "lower case"
                     : casing == "title" ? "Title Case"
                                         : "ordinary case");
  const std::string prefix = std::string(text::StripAsciiSpace(style.value("prefix", std::string())));
  const std::string suffix = std::string(text::StripAsciiSpace(style.value("suffix", std::string())));
  if (!prefix.empty()) out += ", opening " + Quoted(prefix);
  if (!suffix.empty()) out += ", ending " + Quoted(suffix);
  std::vector<std::string> words;
  for (const auto& w : style.value("words", nlohmann::json::array())) words.push_back(Quoted(w.get<std::string>()));
  for (size_t i = 0; i < words.size(); ++i)
    out += (i == 0 ? ", words " : i + 1 == words.size() ? " and " : ", ") + words[i];
  out += style.value("long_form", false) ? ", with details" : ", short";
  return out + ". This " + names.one + " follows suit.";
}

std::vector<data::ReasoningPath> OracleReasoning(const data::Dataset& split, const nlohmann::json& styles,
                                                 const std::string& styles_path, ReasoningStats* stats) {
  PRLM_REQUIRE(styles.is_object() && styles.contains("styles") && styles["styles"].is_object(),
               styles_path << ": no \"styles\" object (write it with make-synthetic)");
  const std::string task = styles.value("task", std::string());
  PRLM_REQUIRE(task == split.task->name,
               styles_path << " is for task " << task << ", the data is " << split.task->name);
  std::vector<data::ReasoningPath> out;
  for (const auto& ex : split.examples) {
    const auto style = styles["styles"].find(ex.user_id);
    PRLM_REQUIRE(style != styles["styles"].end(), styles_path << " has no style for user " << ex.user_id);
    // Topic styles (make-synthetic --topic-style): the prefix and suffix of the question's topic.
    nlohmann::json shown = *style;
    if (style->contains("by_topic") && ex.output) {
      const int topic = pipeline::TopicOfText(split.task->name, *ex.output);
      for (const auto& t : (*style)["by_topic"])
        if (t.value("topic", -1) == topic) shown["prefix"] = t["prefix"], shown["suffix"] = t["suffix"];
    }
    data::ReasoningPath p{ex.id, ex.user_id, DescribeStyle(*split.task, shown), "oracle", false};
    p.leaks = ex.output && data::LeaksOutput(p.reasoning, *ex.output);
    if (stats) ++stats->written, stats->leaks += p.leaks;
    out.push_back(std::move(p));
  }
  return out;
}

std::vector<data::ReasoningPath> OracleReasoning(const data::Dataset& split, const std::string& data_dir,
                                                 ReasoningStats* stats) {
  const std::string styles_path = data_dir + "/styles.json";
  nlohmann::json styles;
  try {
    styles = nlohmann::json::parse(util::ReadFile(styles_path));
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW(styles_path << ": not JSON: " << e.what());
  }
  return OracleReasoning(split, styles, styles_path, stats);
}

std::string ReasoningStats::Summary(bool teacher) const {
  std::string out = std::to_string(leaks) + " repeat the expected output";
  if (teacher)
    out += "; " + std::to_string(not_asked) + " questions could not be asked" +
           (first_error.empty() ? "" : " (the first: " + first_error + ")") + ", " + std::to_string(empty) +
           " got no reasoning";
  return out;
}

}  // namespace prlm::pipeline
