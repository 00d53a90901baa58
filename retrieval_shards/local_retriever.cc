#include "retrieval_shards/local_retriever.h"

#include "common/retrieval/sharding.h"
#include "common/util/check.h"

namespace prlm::retrieval_shards {

std::unique_ptr<LocalRetriever> LocalRetriever::Open(const std::string& index_dir, const std::string& encoder_dir) {
  std::unique_ptr<LocalRetriever> r(new LocalRetriever());
  const IndexManifest manifest = ReadManifest(index_dir);
  for (uint32_t s = 0; s < manifest.num_shards; ++s) r->shards_.push_back(LoadShard(index_dir, s, encoder_dir));
  return r;
}

std::unique_ptr<LocalRetriever> LocalRetriever::Build(const std::vector<const data::Dataset*>& datasets,
                                                      const IndexOptions& options, const DenseEncoderOptions& encoder) {
  PRLM_REQUIRE(!datasets.empty(), "LocalRetriever::Build: no data sets to index");
  std::unique_ptr<LocalRetriever> r(new LocalRetriever());
  LoadedShard shard;
  shard.manifest.task = datasets[0]->task->name;
  shard.manifest.options = options;
  shard.manifest.encoder = encoder;
  const bool dense = options.Has("dense") || options.Has("dense_hnsw");
  PRLM_REQUIRE(!dense || !encoder.model_dir.empty(),
               "a dense retriever needs an encoder model directory (--encoder DIR)");
  if (dense) shard.encoder = std::make_unique<DenseEncoder>(encoder);
  shard.index = ShardIndex::Build(*datasets[0]->task, GroupByUser(datasets), options, shard.encoder.get());
  r->shards_.push_back(std::move(shard));
  return r;
}

std::vector<proto::RetrieveResult> LocalRetriever::Retrieve(const std::vector<proto::RetrieveRequest>& requests) {
  std::vector<proto::RetrieveResult> out;
  out.reserve(requests.size());
  for (const auto& request : requests)
    out.push_back(
        shards_[retrieval::ShardOf(request.user_id(), static_cast<uint32_t>(shards_.size()))].index->Retrieve(request));
  return out;
}

}  // namespace prlm::retrieval_shards
