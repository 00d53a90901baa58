// RSPG: picking one retriever per input (Salemi et al., SIGIR 2024;
// REFERENCE.md, section ROPG). The candidates are retrievers (none, recency,
// bm25, dense, ropg-rl, ropg-kd, ...); for each question the policy answers
// with each candidate's top-k items, the reward tier scores each answer
// against the gold, and a selector learns from those scores by KD
// (teacher softmax(u / T), student softmax(s / T)) which retriever to use:
//
//   pre   the selector reads (retriever name, input, that retriever's items)
//         and picks before anything is generated: one answer per question;
//   post  the policy answers with every candidate and the selector also
//         reads each answer, then picks among them.
//
// The selector is a BERT sequence classifier with one output (a cross-encoder
// scoring "retriever: NAME answer: ... question: ... profile: ..."), saved in
// Hugging Face layout with selector.json ({"variant", "candidates",
// "max_length"}) beside it.
//
// Data: the same feedback.jsonl as ROPG's (pipeline/retriever_feedback.h),
// one record per question whose candidates are the retrievers: "id" the
// retriever's name, "position" its index, "score" 0, "text" its items'
// corpus texts joined by newlines ("" for none), "answer" the extracted
// answer, "utility" its score. Training is the listwise loop ROPG's
// retriever uses (TrainListwise).
//
// Thread-safety: one call at a time per policy or selector.
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/data/dataset.h"
#include "common/model/bert.h"
#include "common/model/causal_lm.h"
#include "common/rollout/answer_questions.h"
#include "common/text/tokenizer.h"
#include "pipeline/retriever_feedback.h"
#include "pipeline/retriever_trainer.h"
#include "reward_server/reward_scorer.h"

namespace prlm::pipeline {

// One candidate retriever: "none", "recency", "bm25", "random", or
// NAME=ENCODER_DIR, a dense retriever with that encoder (NAME is how rows
// and the selector call it, e.g. ropg-kd=runs/ropg/ropg_kd).
struct SelectionCandidate {
  std::string name;       // unique in a list
  std::string retriever;  // the protocol name: none, recency, bm25, random or dense
  std::string encoder;    // dense only
};

// A comma list of candidates; throws util::Error naming a bad entry (an
// unknown retriever, plain "dense" without an encoder, a repeated name).
std::vector<SelectionCandidate> ParseSelectionCandidates(const std::string& spec);

// The candidate retrievers of collect-selection's file: the first record's,
// which every record must have in that order (else util::Error naming
// `path` and the question).
std::vector<std::string> SelectionCandidateNames(const std::vector<FeedbackRecord>& feedback, const std::string& path);

// One in-process retriever per candidate over `data` (one BM25 index shared
// by the lexical ones, one dense index per encoder).
class CandidateRetrievers {
 public:
  CandidateRetrievers(std::vector<SelectionCandidate> candidates, const std::vector<const data::Dataset*>& data);
  const std::vector<SelectionCandidate>& candidates() const { return candidates_; }
  // results[j][i]: candidate j's top-k for questions[i], one batch per
  // candidate (none: no items). A retrieval error throws naming both.
  std::vector<std::vector<proto::RetrieveResult>> Retrieve(const std::vector<rollout::Question>& questions, int k);

 private:
  std::vector<SelectionCandidate> candidates_;
  std::vector<std::unique_ptr<retrieval::ProfileRetriever>> owned_;
  std::vector<retrieval::ProfileRetriever*> by_candidate_;  // null for none
};

// answers[j][i]: the policy's answer to questions[i] with results[j][i]'s
// items in its prompt, or zero-shot for a "none" candidate. One generation
// call for the zero-shot prompts and one for all the others (options'
// batch size applies).
std::vector<std::vector<rollout::Answer>> AnswerWithEachCandidate(
    model::CausalLM& policy, const text::Tokenizer& tokenizer, const text::PromptTemplate& tmpl,
    const std::vector<SelectionCandidate>& candidates, const std::vector<rollout::Question>& questions,
    const std::vector<std::vector<proto::RetrieveResult>>& results, const rollout::AnswerOptions& options);

// The items' corpus texts, one per line.
std::string RetrievedText(const data::TaskSpec& task, const proto::RetrieveResult& result);

// RSPG's training data: one record per example of `questions` (which need
// gold outputs), the candidates being the retrievers, each answering with
// its top `k` items. One question's prompts are always generated together,
// so records do not depend on how questions are split among ranks.
// options.candidates is ignored; options.first_stage names the list.
std::vector<FeedbackRecord> CollectSelectionFeedback(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                                     CandidateRetrievers& retrievers, int k,
                                                     const data::Dataset& questions, const std::vector<size_t>& which,
                                                     const ScoreFn& score, const FeedbackOptions& options,
                                                     const FeedbackProgress& progress = {});

// The selector: a BERT classifier with one output over each candidate's
// text. Also the ListwiseScorer TrainListwise trains.
class RetrieverSelector : public ListwiseScorer {
 public:
  // A selector directory (selector.json, config.json, model.safetensors,
  // tokenizer.json); errors name the file and what is wrong.
  static std::unique_ptr<RetrieverSelector> Load(const std::string& dir);
  // A new selector from any BERT directory (a new one-output head when it has
  // none) that will learn to pick among `candidates`.
  // REQUIRES: variant "pre" or "post"; max_length >= 8.
  static std::unique_ptr<RetrieverSelector> Create(const std::string& bert_dir, const std::string& variant,
                                                   std::vector<std::string> candidates, int max_length, uint64_t seed);

  const std::string& variant() const { return variant_; }
  const std::vector<std::string>& candidates() const { return candidates_; }

  // Ids of [CLS] retriever: NAME [answer: ANSWER] question: INPUT profile:
  // ITEMS [SEP]; the answer and the input are cut to a share of max_length
  // so the items are never crowded out, the items fill the rest.
  std::vector<int32_t> Ids(const std::string& name, const std::string& input, const std::string& items,
                           const std::string& answer) const;
  // The index (into record.candidates) of the best-scored candidate of each record.
  std::vector<int> Pick(const std::vector<FeedbackRecord>& records);

  EncodedQuestion Encode(const FeedbackRecord& record) const override;
  std::vector<torch::Tensor> Scores(const std::vector<const EncodedQuestion*>& questions) override;
  std::vector<torch::Tensor> Parameters() override { return model_->parameters(); }
  std::string SourceDir() const override { return dir_; }
  void Save(const std::string& dir) override;

 private:
  RetrieverSelector() = default;
  // What Load and Create share once the model, variant, candidates and max
  // length are set: eval mode, the tokenizer, the cut to the model's positions.
  void Open(const std::string& dir);
  model::BertEncoder model_{nullptr};
  std::shared_ptr<const text::Tokenizer> tokenizer_;
  std::vector<int32_t> specials_;  // [CLS] and [SEP] as the tokenizer's template adds them to an empty text
  std::string dir_, variant_;
  std::vector<std::string> candidates_;
  size_t max_length_ = 256;
};

// `prlm eval --retriever rspg-pre|rspg-post`: a trained selector over its
// candidate retrievers. REQUIRES: `retrievers` hold every candidate the
// selector was trained on (a missing one throws naming it).
class RetrieverSelection {
 public:
  RetrieverSelection(std::unique_ptr<RetrieverSelector> selector, CandidateRetrievers& retrievers);
  const RetrieverSelector& selector() const { return *selector_; }
  // One answer per question (options.prompts.k items per prompt, the rest of
  // `options` as the eval's); chosen[i] is the retriever picked for question i.
  std::vector<rollout::Answer> Answer(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                      const text::PromptTemplate& tmpl, const data::TaskSpec& task,
                                      const std::vector<rollout::Question>& questions,
                                      const rollout::AnswerOptions& options, std::vector<std::string>* chosen);

 private:
  std::unique_ptr<RetrieverSelector> selector_;
  CandidateRetrievers& retrievers_;
  std::vector<size_t> order_;  // selector candidate k -> retrievers' index
};

// The selections eval's rspg-pre / rspg-post rows answer through: the
// candidate retrievers of `candidates_spec` (as collect-selection took them)
// over `dataset`, and one selection per selector directory, keyed by its row
// ("rspg-" + variant). Throws util::Error for two selectors of one variant or
// a row in `rows` no selector serves.
struct SelectionSet {
  std::unique_ptr<CandidateRetrievers> candidates;
  std::vector<std::unique_ptr<RetrieverSelection>> selections;
  std::map<std::string, RetrieverSelection*> by_row;
};
SelectionSet LoadSelections(const std::vector<std::string>& selector_dirs, const std::string& candidates_spec,
                            const data::Dataset& dataset, const std::vector<std::string>& rows);

// train-selector as one rank of `mpi`: a new `variant` selector on the BERT
// in `init_dir` (with options.resume, out_dir's newest checkpoint instead,
// which must be of that variant), over the retrievers of `feedback_path`
// (SelectionCandidateNames), the ranks as one data-parallel group. Returns
// the report's Summary (rank 0 wrote the files).
std::string TrainSelectorOnRank(const comm::MpiJob& mpi, const std::string& init_dir, const std::string& variant,
                                const std::string& feedback_path, const RetrieverTrainOptions& options);

}  // namespace prlm::pipeline
