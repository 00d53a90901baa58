#include "common/retrieval/profile_prompts.h"

#include "common/util/check.h"

namespace prlm::retrieval {

std::vector<text::PromptItem> ToPromptItems(const proto::RetrieveResult& result) {
  std::vector<text::PromptItem> items;
  for (const auto& item : result.items()) {
    text::PromptItem p;
    for (const auto& f : item.fields()) p.emplace_back(f.name(), f.value());
    items.push_back(std::move(p));
  }
  return items;
}

std::vector<ProfilePrompt> BuildProfilePrompts(retrieval::ProfileRetriever* retriever, const text::PromptTemplate& tmpl,
                                               const text::Tokenizer& tokenizer,
                                               const std::vector<ProfileQuestion>& questions,
                                               const ProfilePromptOptions& options) {
  PRLM_REQUIRE(options.k >= 1, "k must be at least 1, got " << options.k);
  std::vector<proto::RetrieveResult> results(questions.size());
  if (options.prompt.with_profile && !questions.empty()) {
    std::vector<proto::RetrieveRequest> requests;
    for (const auto& q : questions)
      requests.push_back(RetrieveRequestFor(q.user_id, q.query, static_cast<uint32_t>(options.k), options.retriever));
    PRLM_CHECK(retriever != nullptr);
    results = retriever->Retrieve(requests);
    PRLM_CHECK(results.size() == requests.size());
  }
  std::vector<ProfilePrompt> out(questions.size());
  for (size_t i = 0; i < questions.size(); ++i) {
    if (!results[i].error().empty()) {
      out[i].error = "retrieval: " + results[i].error();
      continue;
    }
    const std::string& shown = tmpl.shows_input ? questions[i].input : questions[i].query;
    out[i].built = text::BuildPrompt(tmpl, shown, ToPromptItems(results[i]), &tokenizer, options.prompt);
    if (out[i].built.over_budget)
      out[i].error = "the question alone is over the prompt limit of " +
                     std::to_string(options.prompt.max_prompt_tokens) + " tokens";
  }
  return out;
}

}  // namespace prlm::retrieval
