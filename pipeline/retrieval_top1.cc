#include "pipeline/retrieval_top1.h"

#include "common/text/metrics.h"
#include "common/util/check.h"

namespace prlm::pipeline {

data::ProfileItem ToProfileItem(const proto::RetrievedItem& item) {
  data::ProfileItem out;
  out.id = item.id();
  out.date = item.date();
  for (const auto& f : item.fields()) out.fields.emplace_back(f.name(), f.value());
  return out;
}

namespace {

std::vector<proto::RetrieveResult> RetrieveAll(const data::Dataset& split, retrieval::ProfileRetriever& retriever,
                                               const std::string& name, int k) {
  std::vector<proto::RetrieveRequest> requests;
  for (const auto& ex : split.examples)
    requests.push_back(retrieval::RetrieveRequestFor(ex.user_id, ex.query, static_cast<uint32_t>(k), name));
  auto results = retriever.Retrieve(requests);
  PRLM_CHECK(results.size() == requests.size());
  for (size_t i = 0; i < results.size(); ++i)
    PRLM_REQUIRE(results[i].error().empty(),
                 "retrieval (" << name << ") for question " << split.examples[i].id << ": " << results[i].error());
  return results;
}

}  // namespace

std::vector<Top1Row> MeasureTop1Retrieval(const data::Dataset& split, const std::vector<pipeline::SyntheticFact>& facts,
                                          retrieval::ProfileRetriever& retriever,
                                          const std::vector<std::string>& retrievers, const std::string& first_stage,
                                          int candidates) {
  PRLM_REQUIRE(facts.size() == split.examples.size(), "MeasureTop1Retrieval: one fact per question");
  PRLM_REQUIRE(candidates >= 1, "MeasureTop1Retrieval: candidates must be at least 1");
  std::vector<std::string> golds;
  for (const auto& ex : split.examples) golds.push_back(ex.output.value_or(""));
  const auto answer_with = [&](size_t i, const proto::RetrieveResult& result, int rank) {
    if (result.items_size() <= rank) return ItemsAnswer(split, facts, i, {});
    return ItemsAnswer(split, facts, i, {ToProfileItem(result.items(rank))});
  };
  std::vector<Top1Row> rows;
  for (const auto& name : retrievers) {
    const auto results = RetrieveAll(split, retriever, name, 1);
    std::vector<std::string> answers;
    for (size_t i = 0; i < results.size(); ++i) answers.push_back(answer_with(i, results[i], 0));
    rows.push_back({name, data::TaskMetrics(*split.task, golds, answers)});
  }
  // The oracle: per question, the candidate whose answer has the best ROUGE-1 F.
  const auto results = RetrieveAll(split, retriever, first_stage, candidates);
  std::vector<std::string> best;
  for (size_t i = 0; i < results.size(); ++i) {
    std::string best_answer = answer_with(i, results[i], 0);
    double best_f = text::Rouge(golds[i], best_answer).rouge1.f;
    for (int j = 1; j < results[i].items_size(); ++j) {
      std::string a = answer_with(i, results[i], j);
      const double f = text::Rouge(golds[i], a).rouge1.f;
      if (f > best_f) best_f = f, best_answer = std::move(a);
    }
    best.push_back(std::move(best_answer));
  }
  rows.push_back({"oracle", data::TaskMetrics(*split.task, golds, best)});
  return rows;
}

}  // namespace prlm::pipeline
