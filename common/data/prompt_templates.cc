#include "common/data/prompt_templates.h"

#include <map>

#include "common/data/task.h"

namespace prlm::data {
namespace {

std::string Joined(const std::vector<std::string>& labels) {
  std::string out;
  for (const auto& l : labels) out += (out.empty() ? "" : ", ") + l;
  return out;
}

text::PromptTemplate MakeTemplate(const TaskSpec& task) {
  const std::string give = " Give it as {'" + task.answer_key + "': '...'}.";
  const std::string labels = Joined(task.labels);
  const auto t = [&](std::vector<std::string> fields, std::string cut, std::string intro, std::string with,
                     std::string without, std::string label, bool shows_input = false) {
    return text::PromptTemplate{task.name,   std::move(fields), std::move(cut),   std::move(intro),
                                with + give, without + give,    std::move(label), shows_input};
  };
  const std::string& n = task.name;
  if (n == "LaMP_1")
    return t({"title", "abstract"}, "abstract", "Here are papers this author wrote earlier:",
             "The author wrote the paper named in the question. From what their earlier papers are about, "
             "say which of the two candidates they are more likely to cite: [1] or [2].",
             "Say which of the two candidates the author of the paper named in the question is more likely "
             "to cite: [1] or [2].",
             "Question:", /*shows_input=*/true);
  if (n == "LaMP_2")
    return t({"description", "tag"}, "description",
             "Here are movies this user tagged earlier, each description with the tag they gave it:",
             "Pick the tag this user would give the movie below, one of: " + labels + ".",
             "Pick the tag that fits the movie below, one of: " + labels + ".", "Movie:");
  if (n == "LaMP_2N")
    return t({"title", "text", "category"}, "text",
             "Here are articles this journalist wrote earlier, each with the category they filed it under:",
             "Pick the category this journalist would file the article below under, one of: " + labels + ".",
             "Pick the category of the article below, one of: " + labels + ".", "Article:");
  if (n == "LaMP_3")
    return t({"text", "score"}, "text", "Here are reviews this user wrote earlier, each with the score they gave:",
             "Give the score from 1 to 5 this user gave with the review below, as a single digit.",
             "Give the score from 1 to 5 the writer of the review below gave, as a single digit.", "Review:");
  if (n == "LaMP_4")
    return t({"text", "title"}, "text",
             "Here are news articles this user wrote earlier, each with the headline they gave it:",
             "Write a headline for the new article below the way this user writes headlines "
             "(their wording, casing and habits).",
             "Write a headline for the news article below.", "Article:");
  if (n == "LaMP_5")
    return t({"abstract", "title"}, "abstract",
             "Here are papers this user wrote earlier, each abstract with the title they gave it:",
             "Write a title for the new abstract below the way this user titles papers.",
             "Write a title for the paper abstract below.", "Abstract:");
  if (n == "LaMP_6")
    return t({"text", "title"}, "text", "Here are emails this user wrote earlier, each with its subject line:",
             "Write a subject line for the email below the way this user writes them.",
             "Write a subject line for the email below.", "Email:");
  if (n == "LaMP_7")
    return t({"text"}, "text", "Here are tweets this user wrote earlier:",
             "Rewrite the tweet below the way this user writes tweets, keeping its meaning.",
             "Paraphrase the tweet below, keeping its meaning.", "Tweet:");
  if (n == "LongLaMP_abstract_generation")
    return t({"title", "abstract"}, "abstract",
             "Here are papers this author wrote earlier, each title with its abstract:",
             "Write the abstract this author would write for the paper below, in their style.",
             "Write the abstract for the paper below.", "Request:");
  if (n == "LongLaMP_product_review")
    return t({"overall", "summary", "reviewText"}, "reviewText",
             "Here are product reviews this user wrote earlier, each with its rating and summary:",
             "Write the review this user would write for the product below, in their style.",
             "Write the review for the product below.", "Request:");
  // LongLaMP_topic_writing
  return t({"summary", "content"}, "content", "Here are posts this user wrote earlier, each summary with its text:",
           "Write the post this user would write for the request below, in their style.",
           "Write the post for the request below.", "Request:");
}

}  // namespace

const text::PromptTemplate& PromptTemplateFor(std::string_view task_name) {
  static const std::map<std::string, text::PromptTemplate> templates = [] {
    std::map<std::string, text::PromptTemplate> all;
    for (const auto& task : AllTasks()) all.emplace(task.name, MakeTemplate(task));
    return all;
  }();
  return templates.at(TaskByName(task_name).name);
}

}  // namespace prlm::data
