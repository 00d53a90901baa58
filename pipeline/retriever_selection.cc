#include "pipeline/retriever_selection.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <set>

#include "common/data/prompt_templates.h"
#include "common/model/pretrained.h"
#include "common/text/answer.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "pipeline/rank_share.h"
#include "pipeline/retrieval_top1.h"
#include "retrieval_shards/dense_embedding.h"
#include "retrieval_shards/local_retriever.h"

namespace prlm::pipeline {
namespace fs = std::filesystem;
namespace {

bool IsLexical(const std::string& r) { return r == "recency" || r == "bm25" || r == "random"; }

// Answers for (question, candidate) pairs: zero-shot prompts for "none", the
// candidate's items otherwise; two generation calls in all.
std::vector<rollout::Answer> AnswerPairs(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                         const text::PromptTemplate& tmpl,
                                         const std::vector<SelectionCandidate>& candidates,
                                         const std::vector<rollout::Question>& questions,
                                         const std::vector<std::vector<proto::RetrieveResult>>& results,
                                         const std::vector<std::pair<size_t, size_t>>& pairs,  // (question, candidate)
                                         const rollout::AnswerOptions& options) {
  std::vector<rollout::Question> zero_shot, with_items;
  std::vector<proto::RetrieveResult> given;
  std::vector<size_t> zero_at, items_at;
  for (size_t p = 0; p < pairs.size(); ++p) {
    const auto [i, j] = pairs[p];
    if (candidates[j].retriever == "none") {
      zero_shot.push_back(questions[i]);
      zero_at.push_back(p);
    } else {
      with_items.push_back(questions[i]);
      given.push_back(results[j][i]);
      items_at.push_back(p);
    }
  }
  std::vector<rollout::Answer> out(pairs.size());
  if (!zero_shot.empty()) {
    rollout::AnswerOptions o = options;
    o.prompts.prompt.with_profile = false;
    auto answers = rollout::AnswerQuestions(policy, tokenizer, nullptr, tmpl, zero_shot, o);
    for (size_t n = 0; n < answers.size(); ++n) out[zero_at[n]] = std::move(answers[n]);
  }
  if (!with_items.empty()) {
    auto answers = AnswerWithItems(policy, tokenizer, tmpl, with_items, std::move(given), options);
    for (size_t n = 0; n < answers.size(); ++n) out[items_at[n]] = std::move(answers[n]);
  }
  return out;
}

// ids cut to `n` tokens.
std::vector<int32_t> Cut(std::vector<int32_t> ids, size_t n) {
  if (ids.size() > n) ids.resize(n);
  return ids;
}

}  // namespace

std::vector<SelectionCandidate> ParseSelectionCandidates(const std::string& spec) {
  std::vector<SelectionCandidate> out;
  std::set<std::string> names;
  size_t at = 0;
  while (at <= spec.size()) {
    const size_t comma = std::min(spec.find(',', at), spec.size());
    const std::string entry = spec.substr(at, comma - at);
    at = comma + 1;
    PRLM_REQUIRE(!entry.empty(), "--candidates '" << spec << "': an empty entry");
    SelectionCandidate c;
    const size_t eq = entry.find('=');
    if (eq == std::string::npos) {
      PRLM_REQUIRE(entry == "none" || IsLexical(entry),
                   "--candidates: '" << entry << "' is not none, recency, bm25 or random (a dense retriever is "
                                     << "NAME=ENCODER_DIR, e.g. dense=runs/bert or ropg-kd=runs/ropg_kd)");
      c = {entry, entry, ""};
    } else {
      c = {entry.substr(0, eq), "dense", entry.substr(eq + 1)};
      PRLM_REQUIRE(!c.name.empty() && !c.encoder.empty(), "--candidates: '" << entry << "' must be NAME=ENCODER_DIR");
      PRLM_REQUIRE(c.name != "none" && !IsLexical(c.name),
                   "--candidates: '" << entry << "': " << c.name << " names a lexical retriever, not an encoder");
    }
    PRLM_REQUIRE(names.insert(c.name).second, "--candidates: '" << c.name << "' appears twice");
    out.push_back(std::move(c));
  }
  PRLM_REQUIRE(out.size() >= 2, "--candidates: a selector needs at least two retrievers to choose from");
  return out;
}

CandidateRetrievers::CandidateRetrievers(std::vector<SelectionCandidate> candidates,
                                         const std::vector<const data::Dataset*>& data)
    : candidates_(std::move(candidates)), by_candidate_(candidates_.size(), nullptr) {
  retrieval::ProfileRetriever* lexical = nullptr;
  for (size_t j = 0; j < candidates_.size(); ++j) {
    const auto& c = candidates_[j];
    if (c.retriever == "none") continue;
    if (IsLexical(c.retriever)) {
      if (!lexical) {
        retrieval_shards::IndexOptions options;
        options.built = {"bm25"};
        owned_.push_back(retrieval_shards::LocalRetriever::Build(data, options));
        lexical = owned_.back().get();
      }
      by_candidate_[j] = lexical;
      continue;
    }
    retrieval_shards::IndexOptions options;
    options.built = {"dense"};
    retrieval_shards::DenseEncoderOptions encoder;
    encoder.model_dir = c.encoder;
    owned_.push_back(retrieval_shards::LocalRetriever::Build(data, options, encoder));
    by_candidate_[j] = owned_.back().get();
  }
}

std::vector<std::vector<proto::RetrieveResult>> CandidateRetrievers::Retrieve(
    const std::vector<rollout::Question>& questions, int k) {
  PRLM_REQUIRE(k >= 1, "retriever selection: k must be at least 1, got " << k);
  std::vector<std::vector<proto::RetrieveResult>> out(candidates_.size());
  for (size_t j = 0; j < candidates_.size(); ++j) {
    if (!by_candidate_[j] || questions.empty()) {
      out[j].resize(questions.size());
      continue;
    }
    std::vector<proto::RetrieveRequest> requests;
    for (const auto& q : questions)
      requests.push_back(
          retrieval::RetrieveRequestFor(q.user_id, q.query, static_cast<uint32_t>(k), candidates_[j].retriever));
    out[j] = by_candidate_[j]->Retrieve(requests);
    PRLM_CHECK(out[j].size() == questions.size());
    for (size_t i = 0; i < questions.size(); ++i)
      PRLM_REQUIRE(out[j][i].error().empty(), "retriever selection: " << candidates_[j].name << " for user "
                                                                      << questions[i].user_id << ": "
                                                                      << out[j][i].error());
  }
  return out;
}

std::vector<std::vector<rollout::Answer>> AnswerWithEachCandidate(
    model::CausalLM& policy, const text::Tokenizer& tokenizer, const text::PromptTemplate& tmpl,
    const std::vector<SelectionCandidate>& candidates, const std::vector<rollout::Question>& questions,
    const std::vector<std::vector<proto::RetrieveResult>>& results, const rollout::AnswerOptions& options) {
  std::vector<std::pair<size_t, size_t>> pairs;
  for (size_t j = 0; j < candidates.size(); ++j)
    for (size_t i = 0; i < questions.size(); ++i) pairs.push_back({i, j});
  auto flat = AnswerPairs(policy, tokenizer, tmpl, candidates, questions, results, pairs, options);
  std::vector<std::vector<rollout::Answer>> out(candidates.size());
  for (size_t p = 0; p < pairs.size(); ++p) out[pairs[p].second].push_back(std::move(flat[p]));
  return out;
}

std::string RetrievedText(const data::TaskSpec& task, const proto::RetrieveResult& result) {
  std::string text;
  for (const auto& item : result.items())
    text += (text.empty() ? "" : "\n") + data::CorpusText(task, ToProfileItem(item));
  return text;
}

std::vector<FeedbackRecord> CollectSelectionFeedback(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                                     CandidateRetrievers& retrievers, int k,
                                                     const data::Dataset& questions, const std::vector<size_t>& which,
                                                     const ScoreFn& score, const FeedbackOptions& options,
                                                     const FeedbackProgress& progress) {
  const data::TaskSpec& task = *questions.task;
  const auto& candidates = retrievers.candidates();
  // 1. Every candidate's top-k of every question, one batch per candidate.
  std::vector<rollout::Question> all;
  for (size_t i : which) {
    PRLM_REQUIRE(i < questions.examples.size(), "selection feedback: question index " << i << " out of range");
    const data::Example& ex = questions.examples[i];
    PRLM_REQUIRE(ex.output, "selection feedback: question " << ex.id << " has no gold output to score answers against");
    all.push_back({ex.user_id, ex.query, ex.input, *ex.output, {0}});
  }
  const auto results = retrievers.Retrieve(all, k);

  rollout::AnswerOptions answer;
  answer.prompts.prompt = options.prompt;
  answer.sampling = options.sampling;
  answer.batch_size = 0;  // a question's prompts generate together
  const text::PromptTemplate& tmpl = data::PromptTemplateFor(task.name);
  std::vector<FeedbackRecord> out;
  for (size_t n = 0; n < which.size(); ++n) {
    const data::Example& ex = questions.examples[which[n]];
    // 2. One answer per candidate; the "question" list repeats it once per
    //    candidate so each answer gets its own seed.
    std::vector<rollout::Question> asked;
    std::vector<std::pair<size_t, size_t>> pairs;
    std::vector<std::vector<proto::RetrieveResult>> mine(candidates.size());
    for (size_t j = 0; j < candidates.size(); ++j) {
      asked.push_back(all[n]);
      asked.back().sample_seeds = {CandidateSeed(options.seed, ex.id, j)};
      pairs.push_back({j, j});
      for (size_t c = 0; c < candidates.size(); ++c) mine[c].push_back(results[c][n]);
    }
    const auto answers = AnswerPairs(policy, tokenizer, tmpl, candidates, asked, mine, pairs, answer);
    // 3. Scores: the utility vector over the retrievers.
    const auto reply = score(rollout::ScoreRequestFor(task.name, asked, answers, /*include_unasked=*/true));
    PRLM_REQUIRE(reply.status() == proto::ScoreReply::OK,
                 "selection feedback: scoring question " << ex.id << " failed: " << reply.error());
    PRLM_CHECK(reply.items_size() == static_cast<int>(candidates.size()));
    FeedbackRecord record{ex.id, ex.user_id, ex.query, ex.input, *ex.output, options.first_stage, options.utility, {}};
    for (size_t j = 0; j < candidates.size(); ++j)
      record.candidates.push_back(
          {candidates[j].name, static_cast<uint32_t>(j), 0.0,
           UtilityOf(reply.items(static_cast<int>(j)), options.utility), reply.items(static_cast<int>(j)).answer(),
           answers[j].texts.empty() ? "" : answers[j].texts[0], RetrievedText(task, results[j][n])});
    out.push_back(std::move(record));
    if (progress) progress(n + 1, which.size());
  }
  return out;
}

// --- the selector ---------------------------------------------------------

std::unique_ptr<RetrieverSelector> RetrieverSelector::Load(const std::string& dir) {
  const std::string meta_path = dir + "/selector.json";
  PRLM_REQUIRE(fs::exists(meta_path),
               dir << " is not a retriever selector (no selector.json; train-selector writes one)");
  nlohmann::json meta;
  try {
    meta = nlohmann::json::parse(util::ReadFile(meta_path));
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW(meta_path << ": not JSON: " << e.what());
  }
  std::unique_ptr<RetrieverSelector> s(new RetrieverSelector());
  try {
    s->variant_ = meta.at("variant").get<std::string>();
    s->candidates_ = meta.at("candidates").get<std::vector<std::string>>();
    s->max_length_ = meta.at("max_length").get<size_t>();
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW(meta_path << ": needs \"variant\", \"candidates\" and \"max_length\": " << e.what());
  }
  PRLM_REQUIRE(s->variant_ == "pre" || s->variant_ == "post",
               meta_path << ": variant must be pre or post, not '" << s->variant_ << "'");
  PRLM_REQUIRE(s->candidates_.size() >= 2, meta_path << ": needs at least two candidates");
  PRLM_REQUIRE(s->max_length_ >= 8, meta_path << ": max_length must be at least 8");
  bool new_head = false;
  s->model_ = model::LoadBertClassifier(dir, 1, 0, &new_head);
  PRLM_REQUIRE(!new_head, dir << ": the selector's model has no classifier head (classifier.weight)");
  s->Open(dir);
  return s;
}

std::unique_ptr<RetrieverSelector> RetrieverSelector::Create(const std::string& bert_dir, const std::string& variant,
                                                             std::vector<std::string> candidates, int max_length,
                                                             uint64_t seed) {
  PRLM_REQUIRE(variant == "pre" || variant == "post",
               "the selector's variant must be pre or post, not '" << variant << "'");
  PRLM_REQUIRE(max_length >= 8, "the selector's max length must be at least 8, got " << max_length);
  PRLM_REQUIRE(candidates.size() >= 2, "a selector needs at least two candidates");
  std::unique_ptr<RetrieverSelector> s(new RetrieverSelector());
  s->model_ = model::LoadBertClassifier(bert_dir, 1, seed);
  s->variant_ = variant;
  s->candidates_ = std::move(candidates);
  s->max_length_ = static_cast<size_t>(max_length);
  s->Open(bert_dir);
  return s;
}

void RetrieverSelector::Open(const std::string& dir) {
  model_->eval();  // no dropout: a training step depends only on weights and batch
  tokenizer_ = text::Tokenizer::FromFile(dir + "/tokenizer.json");
  specials_ = tokenizer_->Encode("", /*add_special_tokens=*/true);
  dir_ = dir;
  max_length_ = std::min<size_t>(max_length_, model_->config().max_position_embeddings);
}

std::vector<int32_t> RetrieverSelector::Ids(const std::string& name, const std::string& input, const std::string& items,
                                            const std::string& answer) const {
  const auto& specials = specials_;
  const size_t wrap = std::min<size_t>(specials.size(), 2);
  const size_t budget = max_length_ - wrap;
  std::vector<int32_t> ids;
  if (!specials.empty()) ids.push_back(specials.front());
  const auto add = [&](std::vector<int32_t> piece, size_t limit) {
    piece = Cut(std::move(piece), std::min(limit, budget - std::min(budget, ids.size() - (wrap > 0 ? 1 : 0))));
    ids.insert(ids.end(), piece.begin(), piece.end());
  };
  add(tokenizer_->Encode("retriever: " + name), budget);
  if (variant_ == "post") add(tokenizer_->Encode(" answer: " + answer), budget / 4);
  add(tokenizer_->Encode(" question: " + input), budget / 3);
  add(tokenizer_->Encode(" profile: " + items), budget);
  if (specials.size() >= 2) ids.push_back(specials.back());
  return ids;
}

EncodedQuestion RetrieverSelector::Encode(const FeedbackRecord& record) const {
  EncodedQuestion q;
  for (const auto& c : record.candidates) q.candidates.push_back(Ids(c.id, record.input, c.text, c.answer));
  return q;
}

std::vector<torch::Tensor> RetrieverSelector::Scores(const std::vector<const EncodedQuestion*>& questions) {
  std::vector<const std::vector<int32_t>*> ids;
  for (const auto* q : questions)
    for (const auto& c : q->candidates) ids.push_back(&c);
  const auto [id_t, mask] = retrieval_shards::PaddedIds(ids);
  const torch::Tensor scores = model_->Classify(id_t, torch::zeros_like(id_t), mask).select(1, 0).to(torch::kFloat);
  std::vector<torch::Tensor> out;
  int64_t at = 0;
  for (const auto* q : questions) {
    const int64_t n = static_cast<int64_t>(q->candidates.size());
    out.push_back(scores.slice(0, at, at + n));
    at += n;
  }
  return out;
}

std::vector<int> RetrieverSelector::Pick(const std::vector<FeedbackRecord>& records) {
  torch::NoGradGuard no_grad;
  std::vector<int> out;
  constexpr size_t kChunk = 8;  // records per forward batch
  for (size_t b = 0; b < records.size(); b += kChunk) {
    std::vector<EncodedQuestion> encoded;
    for (size_t i = b; i < std::min(records.size(), b + kChunk); ++i) encoded.push_back(Encode(records[i]));
    std::vector<const EncodedQuestion*> ptrs;
    for (const auto& e : encoded) ptrs.push_back(&e);
    for (const auto& s : Scores(ptrs)) out.push_back(static_cast<int>(s.argmax().item<int64_t>()));
  }
  return out;
}

void RetrieverSelector::Save(const std::string& dir) {
  model::SaveBert(model_, dir);
  if (!fs::exists(dir + "/tokenizer.json") || !fs::equivalent(dir_ + "/tokenizer.json", dir + "/tokenizer.json"))
    fs::copy_file(dir_ + "/tokenizer.json", dir + "/tokenizer.json", fs::copy_options::overwrite_existing);
  const nlohmann::ordered_json meta = {{"variant", variant_}, {"candidates", candidates_}, {"max_length", max_length_}};
  util::WriteFileAtomic(dir + "/selector.json", meta.dump(2) + "\n");
}

// --- selection at eval time -----------------------------------------------

RetrieverSelection::RetrieverSelection(std::unique_ptr<RetrieverSelector> selector, CandidateRetrievers& retrievers)
    : selector_(std::move(selector)), retrievers_(retrievers) {
  const auto& have = retrievers_.candidates();
  std::string names;
  for (const auto& c : have) names += (names.empty() ? "" : ", ") + c.name;
  for (const auto& name : selector_->candidates()) {
    const auto it = std::find_if(have.begin(), have.end(), [&](const SelectionCandidate& c) { return c.name == name; });
    PRLM_REQUIRE(it != have.end(), "the selector in " << selector_->SourceDir() << " was trained to choose " << name
                                                      << ", which --candidates does not name (it has: " << names
                                                      << ")");
    order_.push_back(static_cast<size_t>(it - have.begin()));
  }
}

std::vector<rollout::Answer> RetrieverSelection::Answer(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                                        const text::PromptTemplate& tmpl, const data::TaskSpec& task,
                                                        const std::vector<rollout::Question>& questions,
                                                        const rollout::AnswerOptions& options,
                                                        std::vector<std::string>* chosen) {
  // 1. Every candidate's items for every question (cheap next to generating).
  const auto& candidates = retrievers_.candidates();
  const auto results = retrievers_.Retrieve(questions, options.prompts.k);
  std::vector<FeedbackRecord> records(questions.size());
  for (size_t i = 0; i < questions.size(); ++i) {
    records[i].input = questions[i].input;
    for (size_t j : order_) {
      FeedbackCandidate c;
      c.id = candidates[j].name;
      c.text = RetrievedText(task, results[j][i]);
      records[i].candidates.push_back(std::move(c));
    }
  }
  std::vector<int> picks;
  std::vector<rollout::Answer> out;
  if (selector_->variant() == "pre") {
    // 2a. Pick from the items, then answer each question with its pick.
    picks = selector_->Pick(records);
    std::vector<std::pair<size_t, size_t>> pairs;
    for (size_t i = 0; i < questions.size(); ++i) pairs.push_back({i, order_[picks[i]]});
    out = AnswerPairs(policy, tokenizer, tmpl, candidates, questions, results, pairs, options);
  } else {
    // 2b. Answer with every candidate, then pick among the answers.
    auto answers = AnswerWithEachCandidate(policy, tokenizer, tmpl, candidates, questions, results, options);
    for (size_t i = 0; i < questions.size(); ++i)
      for (size_t k = 0; k < order_.size(); ++k) {
        const auto& a = answers[order_[k]][i];
        records[i].candidates[k].answer = text::ExtractAnswer(a.texts.empty() ? "" : a.texts[0]).answer;
      }
    picks = selector_->Pick(records);
    for (size_t i = 0; i < questions.size(); ++i) out.push_back(std::move(answers[order_[picks[i]]][i]));
  }
  if (chosen) {
    chosen->clear();
    for (int p : picks) chosen->push_back(selector_->candidates()[p]);
  }
  return out;
}

std::vector<std::string> SelectionCandidateNames(const std::vector<FeedbackRecord>& feedback, const std::string& path) {
  PRLM_REQUIRE(!feedback.empty(), path << ": no records");
  std::vector<std::string> names;
  for (const auto& c : feedback.front().candidates) names.push_back(c.id);
  for (const auto& r : feedback) {
    std::vector<std::string> these;
    for (const auto& c : r.candidates) these.push_back(c.id);
    PRLM_REQUIRE(these == names, path << ": question " << r.id << " has other candidates than the first record's (a "
                                      << "selector needs the same retrievers for every question; is this "
                                      << "collect-selection's file?)");
  }
  return names;
}

SelectionSet LoadSelections(const std::vector<std::string>& selector_dirs, const std::string& candidates_spec,
                            const data::Dataset& dataset, const std::vector<std::string>& rows) {
  SelectionSet set;
  set.candidates = std::make_unique<CandidateRetrievers>(ParseSelectionCandidates(candidates_spec),
                                                         std::vector<const data::Dataset*>{&dataset});
  for (const auto& dir : selector_dirs) {
    auto selector = RetrieverSelector::Load(dir);
    const std::string row = "rspg-" + selector->variant();
    PRLM_REQUIRE(!set.by_row.count(row), "--selector: two selectors of variant " << selector->variant());
    set.selections.push_back(std::make_unique<RetrieverSelection>(std::move(selector), *set.candidates));
    set.by_row[row] = set.selections.back().get();
  }
  for (const auto& r : rows)
    PRLM_REQUIRE(r.rfind("rspg-", 0) != 0 || set.by_row.count(r),
                 "--retriever " << r << ": --selector has no selector of that variant");
  return set;
}

std::string TrainSelectorOnRank(const comm::MpiJob& mpi, const std::string& init_dir, const std::string& variant,
                                const std::string& feedback_path, const RetrieverTrainOptions& o) {
  const auto feedback = ReadFeedback(feedback_path);
  const auto names = SelectionCandidateNames(feedback, feedback_path);
  const std::string checkpoint = o.resume ? NewestRetrieverCheckpoint(o.out_dir) : "";
  auto selector = checkpoint.empty() ? RetrieverSelector::Create(init_dir, variant, names, o.max_length, o.seed)
                                     : RetrieverSelector::Load(checkpoint);
  PRLM_REQUIRE(selector->variant() == variant,
               checkpoint << " is a " << selector->variant() << " selector, not " << variant);
  const auto group = DataParallelGroup(mpi, "selector learners");
  const auto report = TrainListwise(*selector, feedback, o, group.get(), [&o](const std::string& line) {
    std::fprintf(stderr, "%s: %s\n", o.command.c_str(), line.c_str());
  });
  return report.Summary(o, "rspg-" + variant + " selector", "always " + names.front());
}

}  // namespace prlm::pipeline
