#include "pipeline/synthetic_labels.h"

#include <algorithm>
#include <map>

#include <nlohmann/json.hpp>

#include "common/util/check.h"
#include "common/util/rng.h"

namespace prlm::pipeline {
namespace {

using Rng = util::SplitMix64;

// One kind of movie or article: words that name it, and the labels that fit it
// (the first is what most people pick: the profile-blind answer).
struct Kind {
  std::vector<std::string> subjects;  // each description names one of these
  std::vector<std::string> labels;
};

const std::vector<Kind>& MovieKinds() {
  static const std::vector<Kind> kinds = {
      {{"a starship crew", "an android", "a lone astronaut"}, {"sci-fi", "action", "dystopia"}},
      {{"a retired detective", "a missing heiress", "a small-town sheriff"},
       {"twist ending", "psychology", "violence"}},
      {{"two rival chefs", "a clumsy best man", "a family road trip"}, {"comedy", "romance", "dark comedy"}},
      {{"a young wizard", "a dragon rider", "an enchanted forest"}, {"fantasy", "based on a book", "classic"}},
      {{"a wartime nurse", "a civil rights lawyer", "a famous mountaineer"},
       {"true story", "social commentary", "classic"}},
      {{"a rebel hacker", "a surveillance state", "the last free city"}, {"dystopia", "sci-fi", "thought-provoking"}},
      {{"a grieving pianist", "an estranged father", "a hospital night shift"},
       {"thought-provoking", "psychology", "romance"}},
      {{"a getaway driver", "a mob accountant", "a heist crew"}, {"action", "violence", "dark comedy"}}};
  return kinds;
}

const std::vector<Kind>& NewsKinds() {
  static const std::vector<Kind> kinds = {
      {{"the senate vote", "the campaign trail", "the new governor"}, {"politics", "crime", "business"}},
      {{"the quarterly earnings", "the startup founders", "the merger talks"},
       {"business", "science & technology", "politics"}},
      {{"the playoff game", "the marathon runners", "the transfer window"},
       {"sports", "entertainment", "healthy living"}},
      {{"the new phone", "the robotics lab", "the chip shortage"}, {"science & technology", "business", "education"}},
      {{"the school board", "the exam results", "the college fees"}, {"education", "parents", "politics"}},
      {{"the island resorts", "the night trains", "the mountain lodges"}, {"travel", "food & drink", "style & beauty"}},
      {{"the street food market", "the wine harvest", "the bakery chain"},
       {"food & drink", "healthy living", "travel"}},
      {{"the film festival", "the pop star", "the museum opening"},
       {"entertainment", "culture & arts", "style & beauty"}}};
  return kinds;
}

std::string MovieDescription(const Kind& kind, Rng& rng) {
  static const char* kOpen[] = {"In this film, ", "The story follows ", "A tale of ", "This drama centers on "};
  static const char* kTurn[] = {" who must face an old secret.", " caught between duty and desire.",
                                " on a journey nobody expected.", " as everything falls apart."};
  return std::string(kOpen[rng.Below(4)]) + kind.subjects[rng.Below(3)] + kTurn[rng.Below(4)];
}

std::string NewsText(const Kind& kind, Rng& rng) {
  static const char* kOpen[] = {"Reporters covered ", "Officials commented on ", "Readers asked about ",
                                "Our correspondent looked into "};
  static const char* kClose[] = {" this week.", " amid growing interest.", " and what comes next.", " in detail."};
  return std::string(kOpen[rng.Below(4)]) + kind.subjects[rng.Below(3)] + kClose[rng.Below(4)];
}

// The kind whose subject the text names, or -1.
int KindOf(const std::vector<Kind>& kinds, const std::string& text) {
  for (size_t k = 0; k < kinds.size(); ++k)
    for (const auto& s : kinds[k].subjects)
      if (text.find(s) != std::string::npos) return static_cast<int>(k);
  return -1;
}

// LaMP-3: five wordings, one per quality level.
const std::vector<std::vector<std::string>>& ReviewWordings() {
  static const std::vector<std::vector<std::string>> w = {
      {"broke on the first day", "a complete waste of money", "nothing worked as described"},
      {"disappointing and flimsy", "worse than I hoped", "barely usable"},
      {"does the job, nothing more", "average for the price", "some good, some bad"},
      {"works well and feels solid", "a good buy overall", "pleasantly surprised"},
      {"absolutely perfect", "the best I have owned", "exceeded every expectation"}};
  return w;
}
const std::vector<std::string>& ReviewProducts() {
  static const std::vector<std::string> p = {"blender", "phone case", "desk lamp",  "rain jacket",
                                             "kettle",  "backpack",   "headphones", "yoga mat"};
  return p;
}
int WordingLevel(const std::string& text) {
  const auto& w = ReviewWordings();
  for (size_t level = 0; level < w.size(); ++level)
    for (const auto& phrase : w[level])
      if (text.find(phrase) != std::string::npos) return static_cast<int>(level) + 1;
  return 3;
}

// LaMP-1: research areas, each with words for titles.
const std::vector<std::vector<std::string>>& Areas() {
  static const std::vector<std::vector<std::string>> a = {
      {"graph neural networks", "message passing", "node classification"},
      {"query optimization", "storage engines", "transaction processing"},
      {"protein folding", "gene expression", "single cell sequencing"},
      {"speech recognition", "acoustic models", "speaker diarization"},
      {"robot grasping", "motion planning", "legged locomotion"},
      {"differential privacy", "secure aggregation", "membership inference"}};
  return a;
}
std::string PaperTitle(int area, Rng& rng) {
  static const char* kForms[] = {"Scalable ", "Revisiting ", "Learning ", "Efficient "};
  static const char* kTails[] = {" at scale", " in practice", ": a new benchmark", " with weak supervision"};
  return std::string(kForms[rng.Below(4)]) + Areas()[area][rng.Below(3)] + kTails[rng.Below(4)];
}
int AreaOf(const std::string& text) {
  for (size_t a = 0; a < Areas().size(); ++a)
    for (const auto& w : Areas()[a])
      if (text.find(w) != std::string::npos) return static_cast<int>(a);
  return -1;
}

std::string LabelList(const std::vector<std::string>& labels) {
  std::string out;
  for (const auto& l : labels) out += (out.empty() ? "" : ", ") + l;
  return out;
}

}  // namespace

bool IsLabelTask(const data::TaskSpec& task) { return task.metric != data::TaskMetric::kGeneration; }

SyntheticSplits MakeLabelSynthetic(const SyntheticOptions& o) {
  const data::TaskSpec& spec = data::TaskByName(o.task);
  PRLM_REQUIRE(IsLabelTask(spec), "MakeLabelSynthetic: " << spec.name << " is a generation task");
  SyntheticSplits out = EmptySyntheticSplits(spec, o);
  Rng rng(o.seed * 0x2545F4914F6CDD1Dull + 11);
  const bool movies = spec.name == "LaMP_2", news = spec.name == "LaMP_2N";
  const std::vector<Kind>& kinds = movies ? MovieKinds() : NewsKinds();
  for (int u = 0; u < o.users; ++u) {
    const std::string uid = SyntheticUserId(u);
    // 1. The user's habit.
    nlohmann::json truth;
    std::vector<int> tag_of(kinds.size(), 0), favourite;
    int offset = 0;
    std::vector<int> areas;
    if (movies || news) {
      for (auto& t : tag_of) t = rng.Below(3);
      for (int f = 0; f < 3; ++f) favourite.push_back(rng.Below(static_cast<int>(kinds.size())));
      for (int k : favourite) truth[kinds[k].subjects[0]] = kinds[k].labels[tag_of[k]];
    } else if (spec.name == "LaMP_3") {
      offset = rng.Below(3) - 1;
      truth["offset"] = offset;
    } else {  // LaMP_1
      const int first = rng.Below(6);
      areas = {first, (first + 1 + rng.Below(5)) % 6};
      truth["areas"] = {Areas()[areas[0]][0], Areas()[areas[1]][0]};
    }
    out.user_ids.push_back(uid);
    out.truths.push_back(truth.dump());
    // 2. The profile.
    std::vector<data::ProfileItem> profile;
    const int n_items = o.min_profile + rng.Below(o.max_profile - o.min_profile + 1);
    SyntheticDates dates(rng);
    for (int j = 0; j < n_items; ++j) {
      data::ProfileItem item;
      item.id = uid + "-p" + std::to_string(j);
      dates.Stamp(item);
      if (movies || news) {
        const int k = favourite[rng.Below(3)];
        const std::string label = kinds[k].labels[tag_of[k]];
        if (movies)
          item.fields = {{"description", MovieDescription(kinds[k], rng)}, {"tag", label}};
        else
          item.fields = {{"title", "On " + kinds[k].subjects[rng.Below(3)]},
                         {"text", NewsText(kinds[k], rng)},
                         {"category", label}};
      } else if (spec.name == "LaMP_3") {
        const int level = 1 + rng.Below(5);
        const auto& wording = ReviewWordings()[level - 1];
        item.fields = {{"text", "This " + ReviewProducts()[rng.Below(8)] + " is " + wording[rng.Below(3)] + "."},
                       {"score", std::to_string(std::clamp(level + offset, 1, 5))}};
      } else {
        const int area = areas[rng.Below(2)];
        item.fields = {{"title", PaperTitle(area, rng)},
                       {"abstract", "We study " + Areas()[area][rng.Below(3)] + " and report results on " +
                                        Areas()[area][rng.Below(3)] + "."}};
      }
      profile.push_back(std::move(item));
    }
    // 3. Questions.
    data::Dataset& split = SyntheticSplitOf(out, u, o);
    for (int q = 0; q < o.questions_per_user; ++q) {
      data::Example ex;
      ex.id = uid + "-q" + std::to_string(q);
      ex.user_id = uid;
      if (movies || news) {
        const int k = favourite[rng.Below(3)];
        const std::string body = movies ? MovieDescription(kinds[k], rng) : NewsText(kinds[k], rng);
        ex.input = movies ? "Which tag does this movie relate to among the following tags? Just answer with the tag "
                            "name without further explanation. tags: [" +
                                LabelList(spec.labels) + "] description: " + body
                          : "Which category does this article relate to among the following categories? Just answer "
                            "with the category name without further explanation. categories: [" +
                                LabelList(spec.labels) + "] article: " + body;
        ex.output = kinds[k].labels[tag_of[k]];
      } else if (spec.name == "LaMP_3") {
        const int level = 1 + rng.Below(5);
        ex.input =
            "What is the score of the following review on a scale of 1 to 5? just answer with 1, 2, 3, 4, or 5 "
            "without further explanation. review: This " +
            ReviewProducts()[rng.Below(8)] + " is " + ReviewWordings()[level - 1][rng.Below(3)] + ".";
        ex.output = std::to_string(std::clamp(level + offset, 1, 5));
      } else {
        const int theirs = areas[rng.Below(2)];
        int other = rng.Below(6);
        while (other == areas[0] || other == areas[1]) other = (other + 1) % 6;
        const bool first_is_theirs = rng.Below(2) == 0;
        const std::string a = PaperTitle(first_is_theirs ? theirs : other, rng);
        const std::string b = PaperTitle(first_is_theirs ? other : theirs, rng);
        ex.input = "For an author who has written the paper with the title \"" + PaperTitle(theirs, rng) +
                   "\", which reference is related? Just answer with [1] or [2] without explanation. [1]: \"" + a +
                   "\" [2]: \"" + b + "\"";
        ex.output = first_is_theirs ? "[1]" : "[2]";
      }
      ex.query = data::ExtractQuery(spec, ex.input);
      ex.profile = profile;
      split.examples.push_back(std::move(ex));
    }
  }
  return out;
}

std::string BlindLabel(const data::TaskSpec& task, const data::Example& ex) {
  if (task.name == "LaMP_2" || task.name == "LaMP_2N") {
    const auto& kinds = task.name == "LaMP_2" ? MovieKinds() : NewsKinds();
    const int k = KindOf(kinds, ex.query);
    return k < 0 ? task.labels[0] : kinds[k].labels[0];
  }
  if (task.name == "LaMP_3") return std::to_string(WordingLevel(ex.query));
  return "[1]";
}

std::string ProfileLabel(const data::TaskSpec& task, const data::Example& ex) {
  if (task.name == "LaMP_2" || task.name == "LaMP_2N") {
    const auto& kinds = task.name == "LaMP_2" ? MovieKinds() : NewsKinds();
    const int k = KindOf(kinds, ex.query);
    std::map<std::string, int> votes;
    for (const auto& item : ex.profile) {
      const std::string* text = item.Field(task.name == "LaMP_2" ? "description" : "text");
      const std::string* label = item.Field(task.output_field);
      if (text && label && k >= 0 && KindOf(kinds, *text) == k) ++votes[*label];
    }
    if (votes.empty()) return BlindLabel(task, ex);
    return std::max_element(votes.begin(), votes.end(), [](auto& a, auto& b) { return a.second < b.second; })->first;
  }
  if (task.name == "LaMP_3") {
    std::map<int, int> offsets;
    for (const auto& item : ex.profile) {
      const std::string *text = item.Field("text"), *score = item.Field("score");
      if (text && score) ++offsets[std::atoi(score->c_str()) - WordingLevel(*text)];
    }
    const int offset = offsets.empty() ? 0 : std::max_element(offsets.begin(), offsets.end(), [](auto& a, auto& b) {
                                               return a.second < b.second;
                                             })->first;
    return std::to_string(std::clamp(WordingLevel(ex.query) + offset, 1, 5));
  }
  // LaMP_1: the candidate whose area the author's papers are on.
  const auto quoted = data::QuotedStrings(ex.input);
  if (quoted.size() < 3) return "[1]";
  std::map<int, int> area_count;
  for (const auto& item : ex.profile)
    if (const std::string* title = item.Field("title")) ++area_count[AreaOf(*title)];
  const int a1 = area_count[AreaOf(std::string(quoted[1]))], a2 = area_count[AreaOf(std::string(quoted[2]))];
  return a2 > a1 ? "[2]" : "[1]";
}

}  // namespace prlm::pipeline
