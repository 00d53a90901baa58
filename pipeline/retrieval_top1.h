// How much *which* profile item is retrieved matters on synthetic data: the
// task's metrics of a reader shown only the top-1 item of each retriever,
// and of the oracle (the best of the first stage's top-N candidates by that
// reader's utility). The reader is the synthetic one (ItemsAnswer): it reads
// the style off the item it is shown and writes the question's fact in it,
// so the figures measure the data and the retrievers, not a policy.
//
// Used by `make-synthetic --topic-style` to show that BM25 sits measurably
// below the oracle (docs/synthetic_data.md). Thread-safety: pure, apart from
// the retriever's own rules.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "common/data/dataset.h"
#include "common/data/task_metrics.h"
#include "common/retrieval/profile_retriever.h"
#include "pipeline/synthetic.h"

namespace prlm::pipeline {

struct Top1Row {
  std::string name;  // a retriever's name, or "oracle"
  data::MetricValues metrics;
};

// Rows for each of `retrievers` (top-1 each) and then the oracle over the
// top-`candidates` of `first_stage`. A retrieval error names the question.
// REQUIRES: a text task; one fact per example.
std::vector<Top1Row> MeasureTop1Retrieval(const data::Dataset& split, const std::vector<pipeline::SyntheticFact>& facts,
                                          retrieval::ProfileRetriever& retriever,
                                          const std::vector<std::string>& retrievers, const std::string& first_stage,
                                          int candidates);

// A retrieved item as the data layer's profile item (id, date, fields).
data::ProfileItem ToProfileItem(const proto::RetrievedItem& item);

}  // namespace prlm::pipeline
