// PrLM prompts over retrieved profiles, for every consumer that generates
// from a user's profile (rollout workers, make-rm-pairs, eval): each
// question's top-k profile items come from the retrieval tier in one batch,
// then the task's template builds the prompt within the token budget.
// Thread-safety: plain functions (the retriever's own rules apply).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "common/retrieval/profile_retriever.h"
#include "common/text/prompt.h"
#include "common/text/tokenizer.h"

namespace prlm::retrieval {

struct ProfileQuestion {
  std::string user_id;
  std::string query;  // what retrieval ranks the profile by
  std::string input;  // the whole question (shown when the template says so)
};

struct ProfilePromptOptions {
  std::string retriever = "bm25";
  int k = 5;
  text::PromptOptions prompt;  // with_profile = false: zero-shot, nothing is retrieved
};

struct ProfilePrompt {
  text::BuiltPrompt built;
  // Non-empty when the question cannot be asked: the retrieval error, or the
  // question is over the prompt budget even with no profile.
  std::string error;
};

// One prompt per question, in order. `retriever` may be null for zero-shot
// prompts (options.prompt.with_profile = false).
std::vector<ProfilePrompt> BuildProfilePrompts(retrieval::ProfileRetriever* retriever, const text::PromptTemplate& tmpl,
                                               const text::Tokenizer& tokenizer,
                                               const std::vector<ProfileQuestion>& questions,
                                               const ProfilePromptOptions& options);

// The prompt's view of retrieved items: each item's fields, in order.
std::vector<text::PromptItem> ToPromptItems(const proto::RetrieveResult& result);

}  // namespace prlm::retrieval
