#include "pipeline/synthetic_preferences.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <filesystem>

#include "common/util/check.h"
#include "common/util/file.h"
#include "common/util/rng.h"

namespace prlm::pipeline {

const std::array<const char*, kPreferenceCriteria> kPreferenceCriterionNames = {"length", "formality", "topic", "emoji",
                                                                                "hedging"};

namespace {

// What each criterion counts (lower case; the emoji as UTF-8).
const std::vector<std::string> kFormal = {"furthermore", "therefore", "consequently", "additionally"};
const std::vector<std::string> kCasual = {"yeah", "kinda", "gonna", "lol"};
const std::vector<std::string> kMoney = {"budget", "cost", "cheap", "money"};
const std::vector<std::string> kEmoji = {"\xF0\x9F\x99\x82", "\xF0\x9F\x8E\x89", "\xF0\x9F\x91\x8D"};
const std::vector<std::string> kHedges = {"perhaps", "i think", "might", "possibly"};

const std::vector<std::string> kTasks = {"learn to cook at home",
                                         "start running",
                                         "keep a small garden",
                                         "learn a new language",
                                         "organise my week",
                                         "read more books",
                                         "fix a squeaky door",
                                         "plan a weekend trip",
                                         "start journaling",
                                         "sleep better",
                                         "learn to draw",
                                         "paint a room",
                                         "train a puppy",
                                         "write a short story",
                                         "start a podcast",
                                         "learn chess",
                                         "bake bread",
                                         "keep my desk tidy",
                                         "learn to swim",
                                         "start a book club",
                                         "build a bookshelf",
                                         "prepare for an interview",
                                         "learn the guitar",
                                         "grow tomatoes",
                                         "make new friends in a new city",
                                         "learn to code",
                                         "host a dinner",
                                         "start cycling to work",
                                         "take better photos",
                                         "learn to knit",
                                         "plan a birthday party",
                                         "clean out my closet",
                                         "learn to meditate",
                                         "brew coffee at home",
                                         "teach a child to read",
                                         "start birdwatching",
                                         "improve my handwriting",
                                         "learn to juggle",
                                         "make a budget-free hobby plan",
                                         "start a compost bin"};
const std::vector<std::string> kDetails = {
    "Begin with one small step each day.",           "Keep notes on what worked and what did not.",
    "Ask a friend to join you now and then.",        "Set a fixed time in your week for it.",
    "Look for a short guide before you start.",      "Expect the first attempts to feel slow.",
    "Track your progress on a simple list.",         "Celebrate each small win along the way.",
    "Change one thing at a time to see the effect.", "Rest when you feel tired and come back later."};
const std::vector<std::string> kMoneySentences = {"A small budget is enough for this.", "It keeps the cost low.",
                                                  "Cheap tools work fine.", "You will not need much money."};

int Count(const std::string& lower, const std::string& what) {
  int n = 0;
  for (size_t at = lower.find(what); at != std::string::npos; at = lower.find(what, at + what.size())) {
    // Whole words only for ASCII markers ("might" is not inside "mighty").
    const bool ascii = static_cast<unsigned char>(what[0]) < 0x80;
    const bool left = at == 0 || !std::isalpha(static_cast<unsigned char>(lower[at - 1]));
    const size_t end = at + what.size();
    const bool right = end >= lower.size() || !std::isalpha(static_cast<unsigned char>(lower[end]));
    if (!ascii || (left && right)) ++n;
  }
  return n;
}

int CountAll(const std::string& lower, const std::vector<std::string>& words) {
  int n = 0;
  for (const auto& w : words) n += Count(lower, w);
  return n;
}

double Gaussian(util::SplitMix64& rng) {
  const double u1 = std::max(rng.Uniform(), 1e-300), u2 = rng.Uniform();
  return std::sqrt(-2 * std::log(u1)) * std::cos(2 * M_PI * u2);
}

// Marsaglia and Tsang; for shape < 1 the boost Gamma(a) = Gamma(a + 1) U^(1/a).
double GammaSample(util::SplitMix64& rng, double shape) {
  if (shape < 1) return GammaSample(rng, shape + 1) * std::pow(std::max(rng.Uniform(), 1e-300), 1 / shape);
  const double d = shape - 1.0 / 3, c = 1 / std::sqrt(9 * d);
  while (true) {
    const double x = Gaussian(rng), v = std::pow(1 + c * x, 3);
    if (v <= 0) continue;
    const double u = rng.Uniform();
    if (std::log(std::max(u, 1e-300)) < 0.5 * x * x + d - d * v + d * std::log(v)) return d * v;
  }
}

const std::string& Pick(util::SplitMix64& rng, const std::vector<std::string>& from) {
  return from[static_cast<size_t>(rng.Below(static_cast<int>(from.size())))];
}

// A response to "How can I <task>?" with random amounts of each criterion.
std::string Response(util::SplitMix64& rng, const std::string& task) {
  std::vector<std::string> sentences = {"To " + task + ", start with the basics and keep it simple."};
  const int details = rng.Below(7), money = rng.Below(3), formal = rng.Below(3), casual = rng.Below(3),
            hedges = rng.Below(3), emoji = rng.Below(4);
  for (int i = 0; i < details; ++i) sentences.push_back(Pick(rng, kDetails));
  for (int i = 0; i < money; ++i) sentences.push_back(Pick(rng, kMoneySentences));
  // Markers open sentences (formal and hedges) or close them (casual).
  for (int i = 0; i < formal; ++i) {
    auto& s = sentences[static_cast<size_t>(rng.Below(static_cast<int>(sentences.size())))];
    std::string word = Pick(rng, kFormal);
    word[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(word[0])));
    s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
    s = word + ", " + s;
  }
  for (int i = 0; i < hedges; ++i) {
    auto& s = sentences[static_cast<size_t>(rng.Below(static_cast<int>(sentences.size())))];
    s[0] = static_cast<char>(std::tolower(static_cast<unsigned char>(s[0])));
    std::string hedge = Pick(rng, kHedges);
    if (hedge == "might") hedge = "you might find that";
    if (hedge == "i think") hedge = "I think";
    hedge[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(hedge[0])));
    s = hedge + " " + s;
  }
  for (int i = 0; i < casual; ++i) {
    auto& s = sentences[static_cast<size_t>(rng.Below(static_cast<int>(sentences.size())))];
    s.insert(s.size() - 1, ", " + Pick(rng, kCasual));
  }
  std::string out;
  for (const auto& s : sentences) out += (out.empty() ? "" : " ") + s;
  for (int i = 0; i < emoji; ++i) out += " " + Pick(rng, kEmoji);
  return out;
}

double Sigmoid(double x) { return 1 / (1 + std::exp(-x)); }

}  // namespace

std::array<double, kPreferenceCriteria> PreferenceFeatures(const std::string& text) {
  std::string lower = text;
  for (auto& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  size_t words = 0;
  bool in_word = false;
  for (char c : text) {
    const bool space = std::isspace(static_cast<unsigned char>(c));
    words += !space && !in_word;
    in_word = !space;
  }
  const int formal = CountAll(lower, kFormal), casual = CountAll(lower, kCasual);
  return {std::min(static_cast<double>(words), 80.0) / 80,
          formal + casual == 0 ? 0.5 : static_cast<double>(formal) / (formal + casual),
          std::min(CountAll(lower, kMoney), 2) / 2.0, std::min(CountAll(lower, kEmoji), 3) / 3.0,
          std::min(CountAll(lower, kHedges), 2) / 2.0};
}

double TrueUtility(const PreferenceUser& user, const std::string& text) {
  const auto f = PreferenceFeatures(text);
  double u = 0;
  for (int k = 0; k < kPreferenceCriteria; ++k) u += user.weights[static_cast<size_t>(k)] * f[static_cast<size_t>(k)];
  return u;
}

SyntheticPreferences MakeSyntheticPreferences(const SyntheticPreferenceOptions& o) {
  PRLM_REQUIRE(o.seen_users >= 1 && o.unseen_users >= 0, "make-synthetic --preferences: needs a seen user");
  PRLM_REQUIRE(o.train_pairs >= 1 && o.test_pairs >= 1 && o.fewshot_pairs >= 1,
               "make-synthetic --preferences: every split needs at least one pair per user");
  PRLM_REQUIRE(o.alpha > 0 && o.beta > 0, "make-synthetic --preferences: alpha and beta must be > 0");
  util::SplitMix64 rng(o.seed * 0x9E3779B97F4A7C15ull + 17);
  SyntheticPreferences out;
  // Train prompts and test prompts never meet: the first 28 tasks train.
  const std::vector<std::string> train_tasks(kTasks.begin(), kTasks.begin() + 28),
      test_tasks(kTasks.begin() + 28, kTasks.end());
  double bayes[2] = {0, 0};
  size_t test_count[2] = {0, 0};
  const int total = o.seen_users + o.unseen_users;
  for (int u = 0; u < total; ++u) {
    PreferenceUser user;
    char id[16];
    std::snprintf(id, sizeof id, "p%04d", u);
    user.id = id;
    user.seen = u < o.seen_users;
    double sum = 0;
    for (auto& w : user.weights) sum += (w = GammaSample(rng, o.alpha));
    for (auto& w : user.weights) w /= std::max(sum, 1e-300);
    const auto add = [&](data::PreferenceSplit split, int count, const std::vector<std::string>& tasks) {
      for (int i = 0; i < count; ++i) {
        const std::string& task = Pick(rng, tasks);
        std::string a = Response(rng, task), b = Response(rng, task);
        while (b == a) b = Response(rng, task);
        const double p = Sigmoid(o.beta * (TrueUtility(user, a) - TrueUtility(user, b)));
        const bool a_wins = rng.Uniform() < p;
        out.pairs.push_back({user.id, "How can I " + task + "?", a_wins ? a : b, a_wins ? b : a, split});
        if (split == data::PreferenceSplit::kTest) {
          bayes[user.seen ? 0 : 1] += std::max(p, 1 - p);
          ++test_count[user.seen ? 0 : 1];
        }
      }
    };
    if (user.seen) {
      add(data::PreferenceSplit::kTrain, o.train_pairs, train_tasks);
    } else {
      add(data::PreferenceSplit::kFewshot, o.fewshot_pairs, train_tasks);
    }
    add(data::PreferenceSplit::kTest, o.test_pairs, test_tasks);
    out.users.push_back(user);
  }
  out.bayes_seen = bayes[0] / std::max<size_t>(1, test_count[0]);
  out.bayes_unseen = bayes[1] / std::max<size_t>(1, test_count[1]);
  return out;
}

void WriteSyntheticPreferences(const SyntheticPreferences& data, const SyntheticPreferenceOptions& o,
                               const std::string& dir) {
  std::filesystem::create_directories(dir);
  data::WritePreferenceFile(dir + "/pairs.jsonl", data.pairs);
  nlohmann::ordered_json truth;
  truth["criteria"] = kPreferenceCriterionNames;
  truth["alpha"] = o.alpha;
  truth["beta"] = o.beta;
  truth["seed"] = o.seed;
  truth["bayes_accuracy"] = {{"seen_test", data.bayes_seen}, {"unseen_test", data.bayes_unseen}};
  for (const auto& u : data.users) truth["users"][u.id] = {{"seen", u.seen}, {"weights", u.weights}};
  util::WriteFileAtomic(dir + "/truth.json", truth.dump(2) + "\n");
}

std::map<std::string, PreferenceUser> ReadPreferenceTruth(const std::string& path) {
  nlohmann::json truth;
  try {
    truth = nlohmann::json::parse(util::ReadFile(path));
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW("truth file '" << path << "' is not JSON: " << e.what());
  }
  PRLM_REQUIRE(truth.is_object() && truth.contains("users") && truth["users"].is_object() && !truth["users"].empty(),
               "truth file '" << path << "': no \"users\" object (write it with make-synthetic --preferences)");
  std::map<std::string, PreferenceUser> users;
  for (const auto& [id, j] : truth["users"].items()) {
    const auto& w = j.is_object() && j.contains("weights") ? j["weights"] : nlohmann::json();
    PRLM_REQUIRE(w.is_array() && w.size() == kPreferenceCriteria, "truth file '" << path << "': user " << id
                                                                                 << ": \"weights\" must be "
                                                                                 << kPreferenceCriteria << " numbers");
    PreferenceUser user;
    user.id = id;
    user.seen = j.value("seen", true);
    for (size_t k = 0; k < w.size(); ++k) {
      PRLM_REQUIRE(w[k].is_number(),
                   "truth file '" << path << "': user " << id << ": weight " << k << " is not a number");
      user.weights[k] = w[k].get<double>();
    }
    users.emplace(id, user);
  }
  return users;
}

}  // namespace prlm::pipeline
