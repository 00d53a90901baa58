#include "pipeline/rm_pairs.h"

#include <nlohmann/json.hpp>

#include <cstdio>
#include <memory>
#include <unordered_map>

#include "common/data/prompt_templates.h"
#include "common/retrieval/profile_prompts.h"
#include "common/text/answer.h"
#include "common/text/prompt.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "common/util/json_lines.h"

namespace prlm::pipeline {

std::vector<RmPair> ReadRmPairs(const std::string& path) {
  std::vector<RmPair> pairs;
  util::ForEachJsonLine(path, [&](const nlohmann::json& j, const std::string& where, size_t) {
    RmPair p;
    p.id = util::JsonLineString(j, where, "id", false);
    p.user_id = util::JsonLineString(j, where, "user_id", false);
    p.query = util::JsonLineString(j, where, "query", true);
    p.chosen = util::JsonLineString(j, where, "chosen", true);
    p.rejected = util::JsonLineString(j, where, "rejected", true);
    PRLM_REQUIRE(!p.chosen.empty() && !p.rejected.empty(), where << ": \"chosen\" and \"rejected\" must not be empty");
    pairs.push_back(std::move(p));
  });
  PRLM_REQUIRE(!pairs.empty(), "pairs file '" << path << "' holds no pairs");
  return pairs;
}

void WriteRmPairs(const std::string& path, const std::vector<RmPair>& pairs) {
  std::string out;
  for (const auto& p : pairs) {
    nlohmann::ordered_json j;
    j["id"] = p.id;
    j["user_id"] = p.user_id;
    j["query"] = p.query;
    j["chosen"] = p.chosen;
    j["rejected"] = p.rejected;
    out += j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  }
  util::WriteFileAtomic(path, out);
}

std::vector<RmPair> MakeRmPairs(const data::Dataset& data, retrieval::ProfileRetriever& retriever,
                                const text::Tokenizer& tokenizer, const CompletionFn& complete,
                                const RmPairOptions& options, RmPairStats* stats, const ProgressFn& progress) {
  PRLM_CHECK(stats);
  PRLM_REQUIRE(options.k >= 1, "k must be at least 1, got " << options.k);
  PRLM_REQUIRE(options.batch_size >= 1, "batch size must be at least 1");
  const text::PromptTemplate& tmpl = data::PromptTemplateFor(data.task->name);
  retrieval::ProfilePromptOptions with_profile, without;
  with_profile.retriever = without.retriever = options.retriever;
  with_profile.k = without.k = options.k;
  with_profile.prompt.max_prompt_tokens = without.prompt.max_prompt_tokens = options.max_prompt_tokens;
  with_profile.prompt.open_think = without.prompt.open_think = options.open_think;
  with_profile.prompt.chat = without.prompt.chat = options.chat;
  without.prompt.with_profile = false;
  size_t total = data.examples.size();
  if (options.limit && options.limit < total) total = options.limit;
  *stats = RmPairStats();
  std::vector<RmPair> pairs;
  for (size_t begin = 0; begin < total; begin += static_cast<size_t>(options.batch_size)) {
    const size_t end = std::min(total, begin + static_cast<size_t>(options.batch_size));
    // 1. Two prompts per query: with the top-k profile (retrieved in one
    // batch), then without.
    std::vector<retrieval::ProfileQuestion> questions;
    for (size_t i = begin; i < end; ++i)
      questions.push_back({data.examples[i].user_id, data.examples[i].query, data.examples[i].input});
    const auto personal = retrieval::BuildProfilePrompts(&retriever, tmpl, tokenizer, questions, with_profile);
    const auto plain = retrieval::BuildProfilePrompts(&retriever, tmpl, tokenizer, questions, without);
    std::vector<size_t> example_of;
    std::vector<std::vector<int32_t>> prompts;
    for (size_t i = begin; i < end; ++i) {
      ++stats->queries;
      const auto& a = personal[i - begin];
      const auto& b = plain[i - begin];
      if (a.built.over_budget || b.built.over_budget) {  // the query alone is too long
        ++stats->over_budget;
        continue;
      }
      if (!a.error.empty()) {
        ++stats->retrieval_errors;
        continue;
      }
      prompts.push_back(a.built.ids);
      prompts.push_back(b.built.ids);
      example_of.push_back(i);
    }
    // 2. Answer, extract, pair.
    const std::vector<std::string> completions = prompts.empty() ? std::vector<std::string>() : complete(prompts);
    PRLM_CHECK(completions.size() == prompts.size());
    for (size_t j = 0; j < example_of.size(); ++j) {
      const auto chosen = text::ExtractAnswer(completions[2 * j]);
      const auto rejected = text::ExtractAnswer(completions[2 * j + 1]);
      if (!chosen.found && !rejected.found)
        ++stats->both_empty;
      else if (!chosen.found)
        ++stats->empty_chosen;
      else if (!rejected.found)
        ++stats->empty_rejected;
      else if (chosen.answer == rejected.answer)
        ++stats->identical;
      else {
        const auto& ex = data.examples[example_of[j]];
        pairs.push_back(RmPair{ex.id, ex.user_id, ex.input, chosen.answer, rejected.answer});
        ++stats->pairs;
      }
    }
    if (progress) progress(*stats, total);
  }
  return pairs;
}

std::vector<RmPair> SyntheticRmPairs(const pipeline::SyntheticSplits& splits) {
  std::vector<RmPair> pairs;
  for (size_t i = 0; i < splits.train.examples.size(); ++i) {
    const auto& ex = splits.train.examples[i];
    std::string chosen = ex.output.value_or("");
    std::string rejected = pipeline::BlindAnswer(splits.train, splits.train_facts, i);
    if (chosen != rejected)
      pairs.push_back(RmPair{ex.id, ex.user_id, ex.input, std::move(chosen), std::move(rejected)});
  }
  return pairs;
}

std::string RmPairStats::Summary() const {
  char line[320];
  std::snprintf(line, sizeof line,
                "%zu pairs from %zu queries (dropped: %zu empty chosen, %zu empty rejected, %zu both empty, %zu "
                "identical; skipped: %zu retrieval errors, %zu over the prompt limit)",
                pairs, queries, empty_chosen, empty_rejected, both_empty, identical, retrieval_errors, over_budget);
  return line;
}

CompletionFn SampledCompletions(model::CausalLM policy, const text::Tokenizer& tokenizer,
                                const generation::SamplingParams& sampling, uint64_t seed) {
  auto done = std::make_shared<uint64_t>(0);
  return [policy, &tokenizer, sampling, seed, done](const std::vector<std::vector<int32_t>>& prompts) mutable {
    std::vector<generation::GenerationRequest> requests;
    for (const auto& p : prompts) requests.push_back({p, {generation::SampleSeed(seed, (*done)++, 0)}});
    std::vector<std::string> texts;
    for (const auto& r : generation::Generate(policy, requests, sampling))
      texts.push_back(tokenizer.Decode(r[0].tokens, /*skip_special_tokens=*/true));
    return texts;
  };
}

}  // namespace prlm::pipeline
