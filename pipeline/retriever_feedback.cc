#include "pipeline/retriever_feedback.h"

#include <algorithm>
#include <numeric>
#include <unordered_map>
#include <unordered_set>

#include <nlohmann/json.hpp>

#include "common/data/prompt_templates.h"
#include "common/rollout/answer_questions.h"
#include "common/util/check.h"
#include "common/util/json_lines.h"
#include "common/util/rng.h"
#include "pipeline/retrieval_top1.h"

namespace prlm::pipeline {
namespace {

std::string OutputNames(const proto::ScoredItem& item) {
  std::string names;
  for (const auto& c : item.components()) names += (names.empty() ? "" : ", ") + c.name();
  return names;
}

// Answers a batch of requests with results fixed beforehand, in order.
class ReplayRetriever : public retrieval::ProfileRetriever {
 public:
  explicit ReplayRetriever(std::vector<proto::RetrieveResult> results) : results_(std::move(results)) {}
  std::vector<proto::RetrieveResult> Retrieve(const std::vector<proto::RetrieveRequest>& requests) override {
    PRLM_CHECK(requests.size() == results_.size());
    return results_;
  }

 private:
  std::vector<proto::RetrieveResult> results_;
};

}  // namespace

uint64_t CandidateSeed(uint64_t seed, const std::string& question_id, size_t candidate) {
  uint64_t h = util::SplitMix64::Mix(seed);
  for (unsigned char c : question_id) h = util::SplitMix64::Mix(h ^ c);
  return util::SplitMix64::Mix(h + static_cast<uint64_t>(candidate));
}

double UtilityOf(const proto::ScoredItem& scored, const std::string& utility) {
  const auto it = std::find_if(scored.components().begin(), scored.components().end(),
                               [&](const proto::NamedValue& c) { return c.name() == utility; });
  PRLM_REQUIRE(it != scored.components().end(),
               "feedback: the scorer has no output '" << utility << "' (it has: " << OutputNames(scored) << ")");
  return it->value();
}

std::vector<rollout::Answer> AnswerWithItems(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                             const text::PromptTemplate& tmpl,
                                             const std::vector<rollout::Question>& questions,
                                             std::vector<proto::RetrieveResult> given,
                                             const rollout::AnswerOptions& options) {
  PRLM_CHECK(given.size() == questions.size());
  rollout::AnswerOptions o = options;
  o.prompts.retriever = "given";
  o.prompts.k = 1;
  for (const auto& g : given) o.prompts.k = std::max(o.prompts.k, g.items_size());
  o.prompts.prompt.with_profile = true;
  ReplayRetriever replay(std::move(given));
  return rollout::AnswerQuestions(policy, tokenizer, &replay, tmpl, questions, o);
}

std::vector<FeedbackRecord> CollectFeedback(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                            retrieval::ProfileRetriever& retriever, const data::Dataset& questions,
                                            const std::vector<size_t>& which, const ScoreFn& score,
                                            const FeedbackOptions& options, const FeedbackProgress& progress) {
  PRLM_REQUIRE(options.candidates >= 1, "feedback: candidates must be at least 1, got " << options.candidates);
  const data::TaskSpec& task = *questions.task;
  // 1. The first stage's top-N of every question, in one batch.
  std::vector<proto::RetrieveRequest> requests;
  for (size_t i : which) {
    PRLM_REQUIRE(i < questions.examples.size(), "feedback: question index " << i << " out of range");
    const data::Example& ex = questions.examples[i];
    PRLM_REQUIRE(ex.output, "feedback: question " << ex.id << " has no gold output to score answers against");
    requests.push_back(retrieval::RetrieveRequestFor(ex.user_id, ex.query, static_cast<uint32_t>(options.candidates),
                                                     options.first_stage));
  }
  const auto first_stage = requests.empty() ? std::vector<proto::RetrieveResult>{} : retriever.Retrieve(requests);
  PRLM_CHECK(first_stage.size() == requests.size());

  rollout::AnswerOptions answer;
  answer.prompts.prompt = options.prompt;
  answer.sampling = options.sampling;
  answer.batch_size = 0;  // one batch: the question's N prompts
  const text::PromptTemplate& tmpl = data::PromptTemplateFor(task.name);
  std::vector<FeedbackRecord> out;
  for (size_t n = 0; n < which.size(); ++n) {
    const data::Example& ex = questions.examples[which[n]];
    const proto::RetrieveResult& candidates = first_stage[n];
    PRLM_REQUIRE(candidates.error().empty(), "feedback: retrieval (" << options.first_stage << ") for question "
                                                                     << ex.id << ": " << candidates.error());
    PRLM_REQUIRE(candidates.items_size() > 0,
                 "feedback: question " << ex.id << ": user " << ex.user_id << " has an empty profile");
    // 2. One prompt per candidate, with only that item; greedy answers.
    std::vector<rollout::Question> asked;
    std::vector<proto::RetrieveResult> one_each;
    for (const auto& item : candidates.items()) {
      const uint64_t seed = CandidateSeed(options.seed, ex.id, asked.size());
      asked.push_back({ex.user_id, ex.query, ex.input, *ex.output, {seed}});
      *one_each.emplace_back().add_items() = item;
    }
    const auto answers = AnswerWithItems(policy, tokenizer, tmpl, asked, std::move(one_each), answer);
    // 3. Scores: the utility vector.
    const auto reply = score(rollout::ScoreRequestFor(task.name, asked, answers, /*include_unasked=*/true));
    PRLM_REQUIRE(reply.status() == proto::ScoreReply::OK,
                 "feedback: scoring question " << ex.id << " failed: " << reply.error());
    PRLM_CHECK(reply.items_size() == candidates.items_size());
    FeedbackRecord record{ex.id, ex.user_id, ex.query, ex.input, *ex.output, options.first_stage, options.utility, {}};
    for (int j = 0; j < candidates.items_size(); ++j) {
      const auto& item = candidates.items(j);
      const auto& scored = reply.items(j);
      record.candidates.push_back({item.id(), item.position(), item.score(), UtilityOf(scored, options.utility),
                                   scored.answer(), answers[j].texts.empty() ? "" : answers[j].texts[0],
                                   data::CorpusText(task, ToProfileItem(item))});
    }
    out.push_back(std::move(record));
    if (progress) progress(n + 1, which.size());
  }
  return out;
}

std::string FeedbackLine(const FeedbackRecord& r) {
  nlohmann::ordered_json candidates = nlohmann::ordered_json::array();
  for (const auto& c : r.candidates)
    candidates.push_back({{"id", c.id},
                          {"position", c.position},
                          {"score", c.score},
                          {"utility", c.utility},
                          {"answer", c.answer},
                          {"completion", c.completion},
                          {"text", c.text}});
  return nlohmann::ordered_json({{"id", r.id},
                                 {"user_id", r.user_id},
                                 {"query", r.query},
                                 {"input", r.input},
                                 {"gold", r.gold},
                                 {"first_stage", r.first_stage},
                                 {"utility", r.utility},
                                 {"candidates", std::move(candidates)}})
      .dump();
}

std::vector<FeedbackRecord> ReadFeedback(const std::string& path) {
  std::vector<FeedbackRecord> out;
  std::unordered_set<std::string> seen;
  util::ForEachJsonLine(path, [&](const nlohmann::json& o, const std::string& where, size_t) {
    FeedbackRecord r;
    r.id = util::JsonLineString(o, where, "id", true);
    r.user_id = util::JsonLineString(o, where, "user_id", true);
    r.query = util::JsonLineString(o, where, "query", true);
    r.input = util::JsonLineString(o, where, "input", false);
    r.gold = util::JsonLineString(o, where, "gold", false);
    r.first_stage = util::JsonLineString(o, where, "first_stage", true);
    r.utility = util::JsonLineString(o, where, "utility", false);
    PRLM_REQUIRE(seen.insert(r.id).second, where << ": question " << r.id << " appears twice");
    const auto c = o.find("candidates");
    PRLM_REQUIRE(c != o.end() && c->is_array() && !c->empty(),
                 where << ": \"candidates\" must be a non-empty array (question " << r.id << ")");
    for (size_t j = 0; j < c->size(); ++j) {
      const auto& item = (*c)[j];
      const std::string at = where + ": candidates[" + std::to_string(j) + "]";
      PRLM_REQUIRE(item.is_object(), at << " is not an object");
      const auto number = [&](const char* name) {
        const auto v = item.find(name);
        PRLM_REQUIRE(v != item.end() && v->is_number(), at << ": \"" << name << "\" must be a number");
        return v->get<double>();
      };
      FeedbackCandidate f;
      f.id = util::JsonLineString(item, at, "id", true);
      f.utility = number("utility");
      f.score = number("score");
      if (item.contains("position")) {
        const auto& v = item["position"];
        PRLM_REQUIRE(v.is_number_unsigned(), at << ": \"position\" must be a non-negative integer");
        f.position = v.get<uint32_t>();
      }
      f.answer = util::JsonLineString(item, at, "answer", false);
      f.completion = util::JsonLineString(item, at, "completion", false);
      f.text = util::JsonLineString(item, at, "text", true);
      r.candidates.push_back(std::move(f));
    }
    out.push_back(std::move(r));
  });
  PRLM_REQUIRE(!out.empty(), path << ": no feedback records");
  return out;
}

namespace {

class OracleRetriever : public retrieval::ProfileRetriever {
 public:
  OracleRetriever(const std::vector<FeedbackRecord>& feedback, std::unique_ptr<retrieval::ProfileRetriever> first)
      : first_(std::move(first)) {
    for (const auto& r : feedback) by_question_[Key(r.user_id, r.query)] = r;
  }

  std::vector<proto::RetrieveResult> Retrieve(const std::vector<proto::RetrieveRequest>& requests) override {
    // 1. Oracle requests become first-stage requests for all N candidates.
    std::vector<proto::RetrieveRequest> asked = requests;
    std::vector<const FeedbackRecord*> records(requests.size(), nullptr);
    std::vector<proto::RetrieveResult> out(requests.size());
    for (size_t i = 0; i < requests.size(); ++i) {
      if (requests[i].retriever() != "oracle") continue;
      const auto it = by_question_.find(Key(requests[i].user_id(), requests[i].query()));
      if (it == by_question_.end()) continue;
      records[i] = &it->second;
      asked[i].set_retriever(it->second.first_stage);
      asked[i].set_k(static_cast<uint32_t>(it->second.candidates.size()));
    }
    std::vector<proto::RetrieveResult> got = first_->Retrieve(asked);
    // 2. Their candidates reordered by utility (stable: ties keep the first stage's order).
    for (size_t i = 0; i < requests.size(); ++i) {
      if (requests[i].retriever() != "oracle") {
        out[i] = std::move(got[i]);
        continue;
      }
      if (!records[i]) {
        out[i].set_error("oracle: the feedback file has no question of user '" + requests[i].user_id() +
                         "' with this query");
        continue;
      }
      if (!got[i].error().empty()) {
        out[i] = std::move(got[i]);
        continue;
      }
      std::unordered_map<std::string, double> utility;
      for (const auto& c : records[i]->candidates) utility[c.id] = c.utility;
      std::vector<int> order(got[i].items_size());
      std::iota(order.begin(), order.end(), 0);
      for (int j : order)
        if (!utility.count(got[i].items(j).id())) {
          out[i].set_error("oracle: item " + got[i].items(j).id() + " of user " + requests[i].user_id() +
                           " is not among the feedback's candidates (was the index rebuilt?)");
          break;
        }
      if (!out[i].error().empty()) continue;
      std::stable_sort(order.begin(), order.end(),
                       [&](int a, int b) { return utility[got[i].items(a).id()] > utility[got[i].items(b).id()]; });
      for (size_t j = 0; j < order.size() && j < requests[i].k(); ++j) {
        auto* item = out[i].add_items();
        *item = got[i].items(order[j]);
        item->set_score(utility[item->id()]);
      }
    }
    return out;
  }

 private:
  static std::string Key(const std::string& user, const std::string& query) { return user + '\x1f' + query; }
  std::unique_ptr<retrieval::ProfileRetriever> first_;
  std::unordered_map<std::string, FeedbackRecord> by_question_;
};

}  // namespace

std::unique_ptr<retrieval::ProfileRetriever> MakeOracleRetriever(
    const std::vector<FeedbackRecord>& feedback, std::unique_ptr<retrieval::ProfileRetriever> fallback) {
  PRLM_REQUIRE(fallback != nullptr, "the oracle retriever needs the first-stage retriever to reorder");
  return std::make_unique<OracleRetriever>(feedback, std::move(fallback));
}

}  // namespace prlm::pipeline
