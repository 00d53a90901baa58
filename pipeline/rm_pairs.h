// Preference pairs for the contrastive personalization reward model, and
// PrLM's recipe for making them from a base policy.
//
// For each training query the policy answers twice: once with the user's
// retrieved top-k profile in the prompt (the personalized answer: chosen) and
// once with no profile (rejected). Answers are extracted after "</think>"
// (text/answer.h). A pair with an empty side is dropped, and so is a pair
// whose two answers are the same text (it carries no contrast); both are
// counted. The gold output is not used.
//
// On disk: JSON lines {"id", "user_id", "query", "chosen", "rejected"} (the
// chosen/rejected names of TRL's reward data).
//
// Thread-safety: plain functions.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/data/dataset.h"
#include "common/model/causal_lm.h"
#include "common/generation/generate.h"
#include "common/retrieval/profile_retriever.h"
#include "common/text/prompt.h"
#include "common/text/tokenizer.h"
#include "pipeline/synthetic.h"

namespace prlm::pipeline {

struct RmPair {
  std::string id, user_id, query, chosen, rejected;
};

// Throws util::Error naming the file, line and field of a malformed record.
std::vector<RmPair> ReadRmPairs(const std::string& path);
void WriteRmPairs(const std::string& path, const std::vector<RmPair>& pairs);  // atomic

struct RmPairOptions {
  text::ChatRenderer chat;  // the policy's chat template; empty: ChatML
  std::string retriever = "bm25";
  int k = 5;
  int max_prompt_tokens = 512;
  bool open_think = false;  // end prompts with "<think>\n" (R1-style policies)
  int batch_size = 8;       // queries per generation batch (two prompts each)
  size_t limit = 0;         // 0: every query
};

struct RmPairStats {
  size_t queries = 0, pairs = 0;
  size_t empty_chosen = 0, empty_rejected = 0, both_empty = 0, identical = 0;
  size_t retrieval_errors = 0;  // queries whose profile could not be retrieved (skipped)
  size_t over_budget = 0;       // queries too long for max_prompt_tokens even without a profile (skipped)
  // "N pairs from Q queries (dropped: ...; skipped: ...)".
  std::string Summary() const;
};

// Generates completions (full text) for prompts given as token ids, in order.
using CompletionFn = std::function<std::vector<std::string>(const std::vector<std::vector<int32_t>>& prompts)>;
// Completions sampled from `policy` with `sampling`, the n-th prompt of the
// run (counting across calls) seeded by SampleSeed(seed, n, 0); decoded
// without special tokens.
// REQUIRES: policy and tokenizer outlive the function.
CompletionFn SampledCompletions(model::CausalLM policy, const text::Tokenizer& tokenizer,
                                const generation::SamplingParams& sampling, uint64_t seed);
using ProgressFn = std::function<void(const RmPairStats& so_far, size_t total)>;

// REQUIRES: the data set's task has a PrLM prompt template (LaMP-4/5/7).
std::vector<RmPair> MakeRmPairs(const data::Dataset& data, retrieval::ProfileRetriever& retriever,
                                const text::Tokenizer& tokenizer, const CompletionFn& complete,
                                const RmPairOptions& options, RmPairStats* stats, const ProgressFn& progress = {});

// Oracle pairs from synthetic data (data/synthetic.h), for testing the reward
// model path without a policy: for each training question, chosen = the gold
// output in the user's own style, rejected = the same content in the neutral
// style. Users whose style is the neutral one give no pair.
std::vector<RmPair> SyntheticRmPairs(const pipeline::SyntheticSplits& splits);

}  // namespace prlm::pipeline
