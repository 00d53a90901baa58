// The profile source of single-process commands (make-rm-pairs, eval): a
// running retrieval tier (--retrieval-server), a built index (--index), or an
// index built in memory over the command's data.
#pragma once

#include <memory>
#include <vector>

#include "options/args.h"
#include "common/data/dataset.h"
#include "common/retrieval/profile_retriever.h"

namespace prlm::options {

// --retriever --k --retrieval-server --index --encoder. `retriever_help`
// documents --retriever (eval takes a comma list).
// `k_default` null: the training job's retrieval.k.
void AddRetrieverOptions(Args& args, const char* retriever_help = "bm25, dense, dense_hnsw, recency or random",
                         const char* k_help = "profile items per query", const char* k_default = nullptr);
// An in-memory index builds the retrievers `built` needs (bm25 / dense / dense_hnsw).
std::unique_ptr<retrieval::ProfileRetriever> OpenRetriever(const Args& args,
                                                           const std::vector<const data::Dataset*>& data,
                                                           const std::vector<std::string>& built);

}  // namespace prlm::options
