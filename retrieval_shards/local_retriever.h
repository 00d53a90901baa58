// The retrieval tier in process: every shard of an index directory (or one
// index built in memory from data sets), answering through the same
// ShardIndex::Retrieve the shard servers run, routed by the same hash.
// For single-process tools (make-rm-pairs, eval) that should not need a
// server; training jobs use RetrievalClient against the shard servers.
// Thread-safety: Retrieve() is safe from many threads (indexes are immutable).
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/retrieval/profile_retriever.h"
#include "retrieval_shards/index_dir.h"

namespace prlm::retrieval_shards {

class LocalRetriever : public retrieval::ProfileRetriever {
 public:
  // Loads every shard of a build-index directory.
  static std::unique_ptr<LocalRetriever> Open(const std::string& index_dir, const std::string& encoder_dir = "");
  // One in-memory shard over the data sets' users. `encoder` options are needed
  // only when options.built names a dense retriever.
  static std::unique_ptr<LocalRetriever> Build(const std::vector<const data::Dataset*>& datasets,
                                               const IndexOptions& options, const DenseEncoderOptions& encoder = {});

  std::vector<proto::RetrieveResult> Retrieve(const std::vector<proto::RetrieveRequest>& requests) override;
  size_t num_shards() const { return shards_.size(); }

 private:
  LocalRetriever() = default;
  std::vector<LoadedShard> shards_;
};

}  // namespace prlm::retrieval_shards
