#include "pipeline/synthetic.h"

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <map>

#include <nlohmann/json.hpp>

#include "common/text/metrics.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "common/util/rng.h"
#include "pipeline/synthetic_labels.h"

namespace prlm::pipeline {
namespace {

using Rng = util::SplitMix64;

// The words of one task. Templates use {0}, {1}, {2} for the topic's slot
// words and {S0}, {S1}, ... for synonym groups; "[...]" marks the detail
// phrase that only long-form users keep.
struct Lexicon {
  std::string input_lead;    // LaMP's instruction before the input text
  std::string output_field;  // "title" or "text"
  std::string body_field;    // "text", "abstract" or "" (LaMP-7 has none)
  std::string output_template;
  std::string body_template;
  std::vector<std::vector<std::string>> synonyms;
  std::vector<std::string> prefixes, suffixes;                // [0] is "" (none)
  std::vector<std::vector<std::vector<std::string>>> topics;  // topic -> slot -> words
};

const Lexicon& LexiconFor(const std::string& task) {
  static const Lexicon lamp4{
      "Generate a headline for the following article: ",
      "title",
      "text",
      "{0} {S0} {S1} {1}[ in {2}]",
      "{0} {S0} a {S1} {1} on Tuesday. The {1} was debated at length in {2}, where residents "
      "and experts weighed in. Supporters said the {S1} {1} would matter for years, while critics "
      "asked how {0} would pay for it.",
      {{"unveils", "launches", "announces", "reveals"}, {"new", "major", "bold", "ambitious"}},
      {"", "Breaking: ", "Update: ", "Exclusive: ", "Analysis: "},
      {"", " - report", " (video)", " | live", " - sources"},
      {{{"City council", "The state senate", "The governor", "The mayor"},
        {"parking plan", "tax proposal", "housing bill", "transit budget"},
        {"Denver", "Austin", "Ohio", "Boston"}},
       {{"The Lakers", "Local runners", "The national team", "The coach"},
        {"training program", "stadium deal", "season strategy", "youth league"},
        {"Chicago", "Madrid", "Tokyo", "Leeds"}},
       {{"The startup", "A tech giant", "A university lab", "Chip makers"},
        {"AI assistant", "battery design", "privacy tool", "cloud service"},
        {"Silicon Valley", "Berlin", "Seoul", "Toronto"}},
       {{"The hospital group", "Health officials", "Researchers", "The clinic"},
        {"vaccine drive", "diet study", "mental health app", "screening program"},
        {"rural Texas", "Kenya", "Scotland", "Lima"}},
       {{"The retailer", "The airline", "A coffee chain", "Investors"},
        {"expansion plan", "pricing model", "loyalty program", "merger offer"},
        {"Asia", "Europe", "the Midwest", "Sydney"}},
       {{"Astronomers", "The space agency", "Biologists", "Ocean scientists"},
        {"telescope survey", "moon mission", "coral project", "gene study"},
        {"Chile", "Florida", "the Pacific", "Antarctica"}},
       {{"The museum", "A film studio", "The orchestra", "Local artists"},
        {"summer festival", "film series", "gallery show", "concert season"},
        {"Paris", "Nashville", "Mumbai", "Dublin"}},
       {{"Forecasters", "Environmental groups", "Farmers", "The utility"},
        {"flood warning", "solar farm", "water plan", "drought response"},
        {"California", "Bangladesh", "Iowa", "the Alps"}}}};
  static const Lexicon lamp5{
      "Generate a title for the following abstract of a paper: ",
      "title",
      "abstract",
      "{S0} {0} {S1} for {1}[ in {2}]",
      "We study {1} in {2}. Existing methods struggle when labelled data is scarce and the "
      "inputs are noisy. We propose a {S0} {0} {S1} for {1}. Experiments on {2} benchmarks show "
      "that the {0} {S1} improves {1} over strong baselines.",
      {{"efficient", "scalable", "robust", "fast"}, {"approach", "method", "framework", "model"}},
      {"", "Towards ", "On ", "Rethinking "},
      {"", ": a survey", " revisited", ": theory and practice"},
      {{{"transformer", "retrieval augmented", "sequence labeling", "prompt tuning"},
        {"question answering", "summarization", "entity recognition", "machine translation"},
        {"low resource languages", "clinical notes", "legal documents", "news archives"}},
       {{"convolutional", "diffusion", "self supervised", "vision transformer"},
        {"image segmentation", "object detection", "depth estimation", "video tracking"},
        {"medical imaging", "autonomous driving", "satellite images", "robotics"}},
       {{"distributed", "lock free", "cache aware", "adaptive"},
        {"query processing", "storage engines", "stream processing", "job scheduling"},
        {"cloud databases", "edge devices", "data centers", "mobile networks"}},
       {{"approximation", "randomized", "online", "spectral"},
        {"graph partitioning", "matrix completion", "load balancing", "clustering"},
        {"sparse graphs", "large matrices", "online markets", "social networks"}},
       {{"graph neural", "contrastive", "bayesian", "reinforcement learning"},
        {"fraud detection", "drug discovery", "traffic forecasting", "recommendation"},
        {"financial records", "molecular data", "urban sensors", "online retail"}}}};
  static const Lexicon lamp7{"Paraphrase the following tweet without any explanation before or after it: ",
                             "text",
                             "",
                             "{S2} {S0} the {0} at {1} {S1}[ with {2}]",
                             "",
                             {{"loved", "enjoyed", "adored", "liked"},
                              {"today", "tonight", "this morning", "this weekend"},
                              {"just", "finally", "really", "totally"}},
                             {"", "ok so ", "honestly ", "wow "},
                             {"", " #blessed", " :)", " !!!", " lol"},
                             {{{"pasta", "tacos", "ramen", "pancakes"},
                               {"the new diner", "my favorite cafe", "the food truck", "grandma's place"},
                               {"friends", "my sister", "the whole team", "my roommate"}},
                              {{"concert", "new album", "jazz set", "open mic"},
                               {"the park", "the arena", "the club downtown", "the old theater"},
                               {"my brother", "the band kids", "my best friend", "coworkers"}},
                              {{"game", "match", "race", "tournament"},
                               {"the stadium", "the gym", "the track", "the rink"},
                               {"my dad", "the whole crew", "my cousins", "neighbors"}},
                              {{"hike", "road trip", "beach day", "museum visit"},
                               {"the mountains", "the coast", "the lake", "the old town"},
                               {"my partner", "the dog", "old friends", "the kids"}},
                              {{"workshop", "hackathon", "team lunch", "book club"},
                               {"the office", "the library", "the community center", "the rooftop"},
                               {"colleagues", "new people", "my mentor", "the study group"}}}};
  static const Lexicon lamp6{
      "Generate a subject for the following email: ",
      "title",
      "text",
      "{S0} {0} {S1}[ before {2}]",
      "Hi all, the {0} {S1} is coming up. Please read the notes on the {0} before {2} and send me any "
      "questions. Thanks, and see you there.",
      {{"Re:", "Reminder:", "Update:", "Fwd:"}, {"meeting", "review", "sync", "check-in"}},
      {"", "[urgent] ", "FYI ", "Quick one: "},
      {"", " - please read", " (action needed)", " :)"},
      {{{"budget", "quarterly", "hiring", "offsite"},
        {"plan", "numbers", "round", "agenda"},
        {"Friday", "the board call", "the holidays", "month end"}},
       {{"product", "design", "launch", "roadmap"},
        {"demo", "spec", "timeline", "feedback"},
        {"Monday", "the release", "the sprint ends", "the customer call"}},
       {{"team", "project", "vendor", "security"},
        {"dinner", "kickoff", "contract", "audit"},
        {"next week", "the deadline", "noon", "the all-hands"}}}};
  // LongLaMP: outputs of 50-200 words; "[...]" is the long-form paragraph.
  static const Lexicon product_review{
      "Generate the review text written by a reviewer for a product with the following description: ",
      "reviewText",
      "description",
      "{S0} used this {0} {1} for a few weeks now. The {2} is {S1} and it {S2} what I needed from a {1}. "
      "Setting it up was {S3}, and the instructions were clear enough for anyone. After daily use it still "
      "{S2} the job without complaints, and the {2} has not changed at all. For the price I think it is "
      "{S4} value and I would recommend it.[ One more thing worth saying: the {0} {1} survived a house "
      "move and a long trip in a packed bag, so the build quality is better than the price suggests, and "
      "I would buy the same one again without thinking twice.]",
      "The {0} {1} comes with a {2}. It is meant for everyday use at home and on the road, and it "
      "ships in a small box with a short manual.",
      {{"I have", "I've", "We have", "My family has"},
       {"excellent", "solid", "impressive", "reliable"},
       {"does", "handles", "manages", "covers"},
       {"easy", "simple", "painless", "quick"},
       {"great", "good", "fair", "fantastic"}},
      {"", "Short version: it works. ", "Honest review: ", "Update after a month: "},
      {"", " Five stars from me.", " Hope this helps someone.", " Thanks for reading!"},
      {{{"compact", "stainless", "cordless", "foldable"},
        {"blender", "kettle", "vacuum", "fan"},
        {"motor", "handle", "battery", "lid"}},
       {{"waterproof", "lightweight", "padded", "insulated"},
        {"backpack", "jacket", "tent", "boot"},
        {"zipper", "lining", "strap", "seam"}},
       {{"wireless", "noise cancelling", "portable", "smart"},
        {"speaker", "headset", "charger", "lamp"},
        {"sound", "cable", "button", "app"}}}};
  static const Lexicon abstract_generation{
      "Generate an abstract for the title: ",
      "abstract",
      "title",
      "We {S0} the problem of {1} in {2}. {S1} methods rely on large labelled datasets and {S2} when "
      "labels are scarce or noisy. In this paper we {S3} a {0} {S4} that learns {1} from little "
      "supervision and adapts to {2}. Experiments on three {2} benchmarks show that our {S4} improves "
      "{1} over strong baselines while using less data.[ We further analyse the {0} {S4} in a series of "
      "ablation studies, showing that each part contributes to the gains and that the results hold "
      "across data sizes, noise levels and domains.]",
      "A {0} approach for {1} in {2}",
      {{"study", "address", "investigate", "consider"},
       {"Existing", "Current", "Prior", "Previous"},
       {"fail", "degrade", "struggle", "break down"},
       {"propose", "introduce", "present", "develop"},
       {"framework", "method", "model", "approach"}},
      {"", "Abstract: ", "Summary. ", "In brief, "},
      {"", " Code is available online.", " We release our data.", " Our findings open new directions."},
      {{{"contrastive", "graph based", "retrieval augmented", "multi task"},
        {"entity linking", "question answering", "summarization", "relation extraction"},
        {"clinical text", "legal documents", "scientific papers", "news archives"}},
       {{"self supervised", "diffusion based", "lightweight", "equivariant"},
        {"depth estimation", "image segmentation", "pose tracking", "scene understanding"},
        {"robotics", "satellite imagery", "medical scans", "driving videos"}},
       {{"adaptive", "learned", "distributed", "probabilistic"},
        {"query optimization", "cache management", "load balancing", "index tuning"},
        {"cloud databases", "edge clusters", "data lakes", "stream systems"}}}};
  static const Lexicon topic_writing{
      "Generate the content for a reddit post about: ",
      "content",
      "summary",
      "{S0} I wanted to share my {0} at {1}. It started when {2} suggested it and I was {S1} at first. "
      "The first few days were {S2}, but I kept going and it got {S3} every single week. Looking back it "
      "was {S4} worth the effort and I learned a lot about myself along the way.[ If anyone here is "
      "thinking about trying a {0} too, my advice is to start small, keep notes, and ask for help early; "
      "I am happy to answer questions in the comments below.]",
      "my {0} at {1} with {2}",
      {{"Hey everyone,", "Hi all,", "Long time lurker here,", "Hello reddit,"},
       {"nervous", "skeptical", "unsure", "hesitant"},
       {"rough", "hard", "exhausting", "messy"},
       {"easier", "better", "smoother", "more fun"},
       {"totally", "absolutely", "definitely", "really"}},
      {"", "TL;DR at the end. ", "Throwaway account. ", "Not sure where else to post this. "},
      {"", " Thanks for reading!", " Edit: thanks for the kind words.", " Cheers."},
      {{{"first marathon", "half marathon", "trail run", "cycling tour"},
        {"the city park", "the coast", "the mountains", "the old canal"},
        {"my sister", "a coworker", "my doctor", "an old friend"}},
       {{"career change", "coding bootcamp", "night class", "new job"},
        {"a startup", "the community college", "a big bank", "a hospital"},
        {"my partner", "a mentor", "my manager", "a neighbor"}},
       {{"garden project", "home renovation", "bread baking", "woodworking hobby"},
        {"my apartment", "the backyard", "my parents' house", "the garage"},
        {"my roommate", "my grandfather", "a youtube channel", "my kids"}}}};
  if (task == "LaMP_4") return lamp4;
  if (task == "LaMP_5") return lamp5;
  if (task == "LaMP_6") return lamp6;
  if (task == "LaMP_7") return lamp7;
  if (task == "LongLaMP_product_review") return product_review;
  if (task == "LongLaMP_abstract_generation") return abstract_generation;
  if (task == "LongLaMP_topic_writing") return topic_writing;
  PRLM_THROW("no synthetic generation lexicon for '" << task << "' (label tasks: synthetic_labels.h)");
}

// Fills a template. `variant(g)` picks the word of synonym group g.
template <typename VariantFn>
std::string Fill(const std::string& tmpl, const Lexicon& lex, const SyntheticFact& fact, bool long_form,
                 VariantFn variant) {
  std::string out;
  bool in_detail = false;
  for (size_t i = 0; i < tmpl.size(); ++i) {
    const char c = tmpl[i];
    if (c == '[') {
      in_detail = true;
      continue;
    }
    if (c == ']') {
      in_detail = false;
      continue;
    }
    if (in_detail && !long_form) continue;
    if (c != '{') {
      out += c;
      continue;
    }
    const size_t close = tmpl.find('}', i);
    const std::string key = tmpl.substr(i + 1, close - i - 1);
    i = close;
    if (key[0] == 'S') {
      const int g = std::stoi(key.substr(1));
      out += lex.synonyms[g][variant(g)];
    } else {
      const int slot = std::stoi(key);
      out += lex.topics[fact.topic][slot][fact.slots[slot]];
    }
  }
  return out;
}

std::string ApplyCasing(std::string s, int casing) {
  switch (casing) {
    case 1:
      for (char& c : s) c = std::tolower(static_cast<unsigned char>(c));
      break;
    case 2: {
      bool start = true;
      for (char& c : s) {
        if (start && std::isalpha(static_cast<unsigned char>(c))) c = std::toupper(static_cast<unsigned char>(c));
        start = c == ' ';
      }
      break;
    }
    case 3:
      for (char& c : s) c = std::toupper(static_cast<unsigned char>(c));
      break;
    default:
      if (!s.empty()) s[0] = std::toupper(static_cast<unsigned char>(s[0]));
  }
  return s;
}

std::string Lower(std::string s) {
  for (char& c : s) c = std::tolower(static_cast<unsigned char>(c));
  return s;
}

bool ContainsWord(const std::string& haystack_lower, const std::string& word_lower) {
  size_t at = 0;
  while ((at = haystack_lower.find(word_lower, at)) != std::string::npos) {
    const size_t end = at + word_lower.size();
    const bool left = at == 0 || !std::isalpha(static_cast<unsigned char>(haystack_lower[at - 1]));
    const bool right = end == haystack_lower.size() || !std::isalpha(static_cast<unsigned char>(haystack_lower[end]));
    if (left && right) return true;
    at = end;
  }
  return false;
}

SyntheticFact RandomFact(const Lexicon& lex, const std::vector<int>& favourite_topics, Rng& rng) {
  SyntheticFact f;
  f.topic = favourite_topics[rng.Below(static_cast<int>(favourite_topics.size()))];
  for (const auto& words : lex.topics[f.topic]) f.slots.push_back(rng.Below(static_cast<int>(words.size())));
  return f;
}

// The input text of an example: the article / abstract written with random
// synonyms, or for LaMP-7 the neutral tweet.
std::string InputBody(const Lexicon& lex, const SyntheticFact& fact, bool long_form, Rng& rng) {
  auto random_variant = [&](int g) { return rng.Below(static_cast<int>(lex.synonyms[g].size())); };
  if (lex.body_template.empty()) return ApplyCasing(Fill(lex.output_template, lex, fact, long_form, random_variant), 0);
  return Fill(lex.body_template, lex, fact, true, random_variant);
}

}  // namespace

UserStyle NeutralStyle(const std::string& task) {
  UserStyle s;
  s.synonyms.assign(LexiconFor(task).synonyms.size(), 0);
  return s;
}

std::string RenderOutput(const std::string& task, const SyntheticFact& fact, const UserStyle& style) {
  const Lexicon& lex = LexiconFor(task);
  std::string core = Fill(lex.output_template, lex, fact, style.long_form, [&](int g) { return style.synonyms[g]; });
  const bool by_topic = !style.topic_prefix.empty();
  const int prefix = by_topic ? style.topic_prefix.at(fact.topic) : style.prefix;
  const int suffix = by_topic ? style.topic_suffix.at(fact.topic) : style.suffix;
  return ApplyCasing(lex.prefixes[prefix] + core + lex.suffixes[suffix], style.casing);
}

int TopicOfText(const std::string& task, const std::string& text) {
  const Lexicon& lex = LexiconFor(task);
  const std::string lower = Lower(text);
  int best = -1, best_count = 0;
  for (size_t t = 0; t < lex.topics.size(); ++t) {
    int count = 0;
    for (const auto& words : lex.topics[t])
      for (const auto& w : words) count += ContainsWord(lower, Lower(w));
    if (count > best_count) best = static_cast<int>(t), best_count = count;
  }
  return best;
}

UserStyle InferStyle(const std::string& task, const std::vector<data::ProfileItem>& profile) {
  const Lexicon& lex = LexiconFor(task);
  UserStyle style = NeutralStyle(task);
  std::vector<std::string> outputs;
  for (const auto& item : profile)
    if (const std::string* v = item.Field(lex.output_field)) outputs.push_back(*v);
  if (outputs.empty()) return style;
  auto majority = [&](auto predicate) {
    size_t n = 0;
    for (const auto& o : outputs) n += predicate(o);
    return 2 * n > outputs.size();
  };
  auto all_of = [](const std::string& s, auto pred) {
    return std::all_of(s.begin(), s.end(), [&](char c) {
      return !std::isalpha(static_cast<unsigned char>(c)) || pred(static_cast<unsigned char>(c));
    });
  };
  if (majority([&](const std::string& o) { return all_of(o, ::isupper); }))
    style.casing = 3;
  else if (majority([&](const std::string& o) { return all_of(o, ::islower); }))
    style.casing = 1;
  else if (majority([](const std::string& o) {
             bool start = true;
             for (char c : o) {
               if (start && std::isalpha(static_cast<unsigned char>(c)) && !std::isupper(static_cast<unsigned char>(c)))
                 return false;
               start = c == ' ';
             }
             return true;
           }))
    style.casing = 2;
  for (size_t p = 1; p < lex.prefixes.size(); ++p)
    if (majority([&](const std::string& o) { return Lower(o).rfind(Lower(lex.prefixes[p]), 0) == 0; }))
      style.prefix = static_cast<int>(p);
  for (size_t s = 1; s < lex.suffixes.size(); ++s) {
    const std::string suf = Lower(lex.suffixes[s]);
    if (majority([&](const std::string& o) {
          const std::string l = Lower(o);
          return l.size() >= suf.size() && l.compare(l.size() - suf.size(), suf.size(), suf) == 0;
        }))
      style.suffix = static_cast<int>(s);
  }
  for (size_t g = 0; g < lex.synonyms.size(); ++g) {
    size_t best = 0, best_count = 0;
    for (size_t v = 0; v < lex.synonyms[g].size(); ++v) {
      size_t n = 0;
      for (const auto& o : outputs) n += ContainsWord(Lower(o), Lower(lex.synonyms[g][v]));
      if (n > best_count) best = v, best_count = n;
    }
    style.synonyms[g] = static_cast<int>(best);
  }
  // The detail phrase starts with " in " (4, 5) or " with " (7).
  const std::string detail = Lower(lex.output_template.substr(lex.output_template.find('[') + 1, 5));
  style.long_form = majority(
      [&](const std::string& o) { return Lower(o).find(detail.substr(0, detail.find('{'))) != std::string::npos; });
  return style;
}

namespace {

int HeldOutUsers(int requested, const SyntheticOptions& o) {
  return requested > 0 ? requested : std::max(1, o.users / 10);
}
int DevUsers(const SyntheticOptions& o) { return HeldOutUsers(o.dev_users, o); }
int TrainUsers(const SyntheticOptions& o) { return o.users - DevUsers(o) - HeldOutUsers(o.test_users, o); }

// Puts an item's fields in the task's order (what the reader produces).
void OrderFields(const data::TaskSpec& task, data::ProfileItem& item) {
  std::vector<std::pair<std::string, std::string>> ordered;
  for (const auto& spec : task.profile_fields)
    for (auto& field : item.fields)
      if (field.first == spec.name) ordered.push_back(std::move(field));
  item.fields = std::move(ordered);
}

// topic_style: three distinct favourite topics (all there are, if fewer), and
// for each its own prefix and suffix, distinct across the user's topics so an
// item on another topic shows the wrong ones.
void DrawTopicStyle(const Lexicon& lex, Rng& rng, UserStyle* style, std::vector<int>* topics) {
  const int n_topics = static_cast<int>(lex.topics.size());
  std::vector<int> order(n_topics), prefixes, suffixes;
  for (int t = 0; t < n_topics; ++t) order[t] = t;
  for (int t = n_topics - 1; t > 0; --t) std::swap(order[t], order[rng.Below(t + 1)]);
  topics->assign(order.begin(), order.begin() + std::min(3, n_topics));
  const auto shuffled_choices = [&](size_t n) {  // 1..n-1 (0 is "none"), shuffled
    std::vector<int> v;
    for (size_t i = 1; i < n; ++i) v.push_back(static_cast<int>(i));
    for (size_t i = v.size() - 1; i > 0; --i) std::swap(v[i], v[rng.Below(static_cast<int>(i) + 1)]);
    return v;
  };
  prefixes = shuffled_choices(lex.prefixes.size());
  suffixes = shuffled_choices(lex.suffixes.size());
  PRLM_CHECK(prefixes.size() >= topics->size() && suffixes.size() >= topics->size());
  style->prefix = style->suffix = 0;
  style->topic_prefix.assign(n_topics, 0);
  style->topic_suffix.assign(n_topics, 0);
  for (size_t i = 0; i < topics->size(); ++i) {
    style->topic_prefix[(*topics)[i]] = prefixes[i];
    style->topic_suffix[(*topics)[i]] = suffixes[i];
  }
}

// topic_style: `n` items on the user's other favourite topics, written in the
// user's style for their own topic, whose input text ends by quoting the
// question's story (its input text, other synonyms drawn). They go to random places in this question's
// profile, dated like their neighbour.
void AddDistractors(const data::TaskSpec& spec, const Lexicon& lex, const UserStyle& style,
                    const std::vector<int>& topics, const SyntheticFact& question, int n, data::Example& ex, Rng& rng) {
  std::vector<int> others;
  for (int t : topics)
    if (t != question.topic) others.push_back(t);
  if (others.empty() || n == 0) return;
  for (int d = 0; d < n; ++d) {
    const std::string echo = " Compare: " + InputBody(lex, question, style.long_form, rng);
    const SyntheticFact fact = RandomFact(lex, others, rng);
    data::ProfileItem item;
    item.id = ex.id + "-d" + std::to_string(d);
    item.fields.emplace_back(lex.body_field, InputBody(lex, fact, style.long_form, rng) + echo);
    item.fields.emplace_back(lex.output_field, RenderOutput(spec.name, fact, style));
    OrderFields(spec, item);
    const size_t at = rng.Below(static_cast<int>(ex.profile.size()) + 1);
    const data::ProfileItem& neighbour = ex.profile[std::min(at, ex.profile.size() - 1)];
    item.date = neighbour.date;
    item.date_key = neighbour.date_key;
    ex.profile.insert(ex.profile.begin() + static_cast<std::ptrdiff_t>(at), std::move(item));
  }
}

}  // namespace

SyntheticSplits EmptySyntheticSplits(const data::TaskSpec& task, const SyntheticOptions& o) {
  PRLM_REQUIRE(o.users >= 3, "make-synthetic: --users must be at least 3 (one per split), got " << o.users);
  PRLM_REQUIRE(o.min_profile >= 1 && o.max_profile >= o.min_profile,
               "make-synthetic: profile sizes must satisfy 1 <= min <= max");
  PRLM_REQUIRE(o.questions_per_user >= 1, "make-synthetic: questions per user must be >= 1");
  PRLM_REQUIRE(o.dev_users >= 0 && o.test_users >= 0, "make-synthetic: --dev-users and --test-users must be >= 0");
  PRLM_REQUIRE(TrainUsers(o) >= 1,
               "make-synthetic: no users left for train: " << o.users << " users, " << DevUsers(o) << " dev and "
                                                           << o.users - TrainUsers(o) - DevUsers(o) << " test");
  SyntheticSplits out;
  for (data::Dataset* d : {&out.train, &out.dev, &out.test}) {
    d->task = &task;
    d->source = "synthetic " + task.name + " seed " + std::to_string(o.seed);
  }
  return out;
}

std::string SyntheticUserId(int u) {
  char uid[32];
  std::snprintf(uid, sizeof uid, "u%05d", u);
  return uid;
}

data::Dataset& SyntheticSplitOf(SyntheticSplits& s, int u, const SyntheticOptions& o) {
  return u < TrainUsers(o) ? s.train : u < TrainUsers(o) + DevUsers(o) ? s.dev : s.test;
}

std::vector<SyntheticFact>& SyntheticFactsOf(SyntheticSplits& s, int u, const SyntheticOptions& o) {
  return u < TrainUsers(o) ? s.train_facts : u < TrainUsers(o) + DevUsers(o) ? s.dev_facts : s.test_facts;
}

SyntheticDates::SyntheticDates(util::SplitMix64& rng) : rng_(rng), day_(rng.Below(200)) {}

void SyntheticDates::Stamp(data::ProfileItem& item) {
  day_ += 1 + rng_.Below(20);
  char date[24];
  std::snprintf(date, sizeof date, "%04d-%02d-%02d", 2015 + day_ / 336, 1 + (day_ % 336) / 28, 1 + day_ % 28);
  item.date = date;
  item.date_key = *data::ParseDateKey(date);
}

SyntheticSplits MakeSynthetic(const SyntheticOptions& o) {
  const data::TaskSpec* spec = &data::TaskByName(o.task);
  if (IsLabelTask(*spec)) return MakeLabelSynthetic(o);
  const std::string task = spec->name;
  const Lexicon& lex = LexiconFor(task);
  if (o.topic_style) {
    PRLM_REQUIRE(!lex.body_field.empty(),
                 "make-synthetic: --topic-style needs a task whose questions have an input "
                 "text to echo in distractors; "
                     << task << " has none");
    PRLM_REQUIRE(o.distractors >= 0 && o.distractors <= 16,
                 "make-synthetic: --distractors must be in 0..16, got " << o.distractors);
  }
  SyntheticSplits out = EmptySyntheticSplits(*spec, o);
  Rng rng(o.seed * 0x2545F4914F6CDD1Dull + 7);
  const int n_topics = static_cast<int>(lex.topics.size());
  for (int u = 0; u < o.users; ++u) {
    const std::string uid = SyntheticUserId(u);
    // 1. The user's style and favourite topics.
    UserStyle style;
    style.casing = rng.Below(4);
    style.prefix = rng.Uniform() < 0.6 ? 1 + rng.Below(static_cast<int>(lex.prefixes.size()) - 1) : 0;
    style.suffix = rng.Uniform() < 0.5 ? 1 + rng.Below(static_cast<int>(lex.suffixes.size()) - 1) : 0;
    for (const auto& group : lex.synonyms) style.synonyms.push_back(rng.Below(static_cast<int>(group.size())));
    style.long_form = rng.Uniform() < 0.5;
    std::vector<int> topics = {rng.Below(n_topics), rng.Below(n_topics), rng.Below(n_topics)};
    if (o.topic_style) DrawTopicStyle(lex, rng, &style, &topics);
    out.user_ids.push_back(uid);
    out.styles.push_back(style);

    // 2. The profile: items written in the style, dated oldest first.
    std::vector<data::ProfileItem> profile;
    const int n_items = o.min_profile + rng.Below(o.max_profile - o.min_profile + 1);
    SyntheticDates dates(rng);
    for (int j = 0; j < n_items; ++j) {
      const SyntheticFact fact = RandomFact(lex, topics, rng);
      data::ProfileItem item;
      item.id = uid + "-p" + std::to_string(j);
      dates.Stamp(item);
      if (!lex.body_field.empty()) item.fields.emplace_back(lex.body_field, InputBody(lex, fact, style.long_form, rng));
      item.fields.emplace_back(lex.output_field, RenderOutput(task, fact, style));
      OrderFields(*spec, item);
      profile.push_back(std::move(item));
    }
    // 3. Questions: new facts on the same topics; gold = the styled output.
    data::Dataset& split = SyntheticSplitOf(out, u, o);
    auto& facts = SyntheticFactsOf(out, u, o);
    for (int q = 0; q < o.questions_per_user; ++q) {
      const SyntheticFact fact = RandomFact(lex, topics, rng);
      data::Example ex;
      ex.id = uid + "-q" + std::to_string(q);
      ex.user_id = uid;
      ex.input = lex.input_lead + InputBody(lex, fact, style.long_form, rng);
      ex.query = data::ExtractQuery(*spec, ex.input);
      ex.output = RenderOutput(task, fact, style);
      ex.profile = profile;
      if (o.topic_style) AddDistractors(*spec, lex, style, topics, fact, o.distractors, ex, rng);
      split.examples.push_back(std::move(ex));
      facts.push_back(fact);
    }
  }
  return out;
}

void WriteLampSplit(const data::Dataset& ds, const std::string& dir, const std::string& split) {
  nlohmann::json questions = nlohmann::json::array();
  nlohmann::json golds = nlohmann::json::array();
  bool any_output = false;
  for (const auto& ex : ds.examples) {
    nlohmann::json profile = nlohmann::json::array();
    for (const auto& item : ex.profile) {
      nlohmann::json j = {{"id", item.id}};
      if (!item.date.empty()) j["date"] = item.date;
      for (const auto& [k, v] : item.fields) j[k] = v;
      profile.push_back(std::move(j));
    }
    questions.push_back({{"id", ex.id}, {"user_id", ex.user_id}, {"input", ex.input}, {"profile", std::move(profile)}});
    if (ex.output) {
      golds.push_back({{"id", ex.id}, {"output", *ex.output}});
      any_output = true;
    }
  }
  std::filesystem::create_directories(dir);
  util::WriteFileAtomic(dir + "/" + split + "_questions.json", questions.dump());
  if (any_output)
    util::WriteFileAtomic(dir + "/" + split + "_outputs.json",
                          nlohmann::json({{"task", ds.task->name}, {"golds", std::move(golds)}}).dump());
}

void WriteSynthetic(const SyntheticSplits& s, const SyntheticOptions& o, const std::string& dir) {
  WriteLampSplit(s.train, dir, "train");
  WriteLampSplit(s.dev, dir, "dev");
  WriteLampSplit(s.test, dir, "test");
  nlohmann::json users = nlohmann::json::object();
  for (size_t i = 0; i < s.truths.size(); ++i) users[s.user_ids[i]] = nlohmann::json::parse(s.truths[i]);
  static const char* kCasing[] = {"as written", "lower", "title", "upper"};
  for (size_t i = 0; i < s.styles.size(); ++i) {
    const Lexicon& lex = LexiconFor(data::TaskByName(o.task).name);
    const UserStyle& st = s.styles[i];
    nlohmann::json syn = nlohmann::json::array();
    for (size_t g = 0; g < st.synonyms.size(); ++g) syn.push_back(lex.synonyms[g][st.synonyms[g]]);
    users[s.user_ids[i]] = {{"casing", kCasing[st.casing]},
                            {"prefix", lex.prefixes[st.prefix]},
                            {"suffix", lex.suffixes[st.suffix]},
                            {"words", syn},
                            {"long_form", st.long_form}};
    if (!st.topic_prefix.empty()) {
      nlohmann::json by_topic = nlohmann::json::array();  // topic index, its first subject word, prefix, suffix
      for (size_t t = 0; t < st.topic_prefix.size(); ++t)
        if (st.topic_prefix[t] != 0)
          by_topic.push_back({{"topic", t},
                              {"example", lex.topics[t][0][0]},
                              {"prefix", lex.prefixes[st.topic_prefix[t]]},
                              {"suffix", lex.suffixes[st.topic_suffix[t]]}});
      users[s.user_ids[i]]["by_topic"] = std::move(by_topic);
    }
  }
  nlohmann::json meta = {{"task", data::TaskByName(o.task).name},
                         {"users", o.users},
                         {"seed", o.seed},
                         {"min_profile", o.min_profile},
                         {"max_profile", o.max_profile},
                         {"questions_per_user", o.questions_per_user},
                         {"topic_style", o.topic_style},
                         {"distractors", o.topic_style ? o.distractors : 0},
                         {"styles", users}};
  util::WriteFileAtomic(dir + "/styles.json", meta.dump(1));
}

std::string BlindAnswer(const data::Dataset& ds, const std::vector<SyntheticFact>& facts, size_t i) {
  const data::TaskSpec& task = *ds.task;
  if (IsLabelTask(task)) return BlindLabel(task, ds.examples[i]);
  // LaMP-7's blind answer is the input tweet itself.
  if (LexiconFor(task.name).body_template.empty()) return ds.examples[i].query;
  return RenderOutput(task.name, facts.at(i), NeutralStyle(task.name));
}

std::string ProfileAnswer(const data::Dataset& ds, const std::vector<SyntheticFact>& facts, size_t i) {
  const data::TaskSpec& task = *ds.task;
  if (IsLabelTask(task)) return ProfileLabel(task, ds.examples[i]);
  // The items on the question's topic (read off their outputs) carry the
  // style when it depends on the topic; without topic styles any subset of
  // the profile reads the same.
  const std::string& field = LexiconFor(task.name).output_field;
  std::vector<data::ProfileItem> same_topic;
  for (const auto& item : ds.examples[i].profile)
    if (const std::string* v = item.Field(field); v && TopicOfText(task.name, *v) == facts.at(i).topic)
      same_topic.push_back(item);
  return ItemsAnswer(ds, facts, i, same_topic.empty() ? ds.examples[i].profile : same_topic);
}

std::string ItemsAnswer(const data::Dataset& ds, const std::vector<SyntheticFact>& facts, size_t i,
                        const std::vector<data::ProfileItem>& items) {
  PRLM_REQUIRE(!IsLabelTask(*ds.task), "ItemsAnswer: text tasks only, not " << ds.task->name);
  return RenderOutput(ds.task->name, facts.at(i), InferStyle(ds.task->name, items));
}

SyntheticReport MeasureSynthetic(const data::Dataset& ds, const std::vector<SyntheticFact>& facts) {
  PRLM_REQUIRE(IsLabelTask(*ds.task) || facts.size() == ds.examples.size(), "MeasureSynthetic: one fact per example");
  std::vector<std::string> golds, blind, aware;
  SyntheticReport r;
  for (size_t i = 0; i < ds.examples.size(); ++i) {
    golds.push_back(ds.examples[i].output.value_or(""));
    blind.push_back(BlindAnswer(ds, facts, i));
    aware.push_back(ProfileAnswer(ds, facts, i));
    r.recovered += aware.back() == golds.back();
  }
  r.blind = data::TaskMetrics(*ds.task, golds, blind);
  r.profile = data::TaskMetrics(*ds.task, golds, aware);
  r.recovered /= static_cast<double>(std::max<size_t>(ds.examples.size(), 1));
  return r;
}

std::string TextCorpus(const data::Dataset& split) {
  std::string corpus;
  const auto line = [&corpus](std::string text) {
    for (char& ch : text)
      if (ch == '\n' || ch == '\r') ch = ' ';
    corpus += text + "\n";
  };
  for (const auto& ex : split.examples) {
    line(ex.input);
    if (ex.output) line(*ex.output);
    for (const auto& item : ex.profile)
      for (const auto& [name, value] : item.fields) line(value);
  }
  return corpus;
}

}  // namespace prlm::pipeline
