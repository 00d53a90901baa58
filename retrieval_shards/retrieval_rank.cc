#include "retrieval_shards/retrieval_rank.h"

#include <spdlog/spdlog.h>

#include "common/comm/service_rank.h"
#include "common/retrieval/sharding.h"
#include "common/util/check.h"
#include "retrieval_shards/index_dir.h"
#include "retrieval_shards/retrieval_service.h"

namespace prlm::retrieval_shards {

namespace {

// This rank's shard of every split in data.dir, built here.
LoadedShard BuildShard(const config::TrainConfig& c, uint32_t shard, uint32_t shards) {
  const data::TaskSpec* task = data::TaskOrNull(c.data.task);
  std::vector<std::string> failures;
  const std::vector<data::Dataset> splits = data::LoadLampSplits(c.data.dir, task, &failures);
  for (const auto& f : failures) spdlog::warn("split {} (left out: its users get no profile here)", f);
  std::vector<const data::Dataset*> ptrs;
  for (const auto& s : splits) ptrs.push_back(&s);
  std::vector<UserProfileInput> mine;
  for (auto& u : GroupByUser(ptrs))
    if (retrieval::ShardOf(u.user_id, shards) == shard) mine.push_back(std::move(u));
  LoadedShard out;
  out.manifest.task = splits[0].task->name;
  out.manifest.num_shards = shards;
  const config::RetrieverKind r = c.retrieval.retriever;
  if (config::NeedsIndex(r)) out.manifest.options.built = {std::string(config::NameOf(r))};
  if (config::IsDense(r)) {
    out.manifest.encoder.model_dir = c.retrieval.encoder;
    out.encoder = std::make_unique<DenseEncoder>(out.manifest.encoder);
  }
  out.index = ShardIndex::Build(*splits[0].task, std::move(mine), out.manifest.options, out.encoder.get());
  out.index->SetShard(shard, shards);
  return out;
}

}  // namespace

int RunRetrievalRank(const config::TrainConfig& c, const config::Layout& layout, const comm::RankStart& start) {
  const comm::RankInfo& me = start.me;
  // layout.retrieval = shards x retrieval.replicas; ranks r * shards + s
  // serve shard s (replica r), as RetrievalClient lists them.
  const uint32_t shards = static_cast<uint32_t>(layout.retrieval / c.retrieval.replicas);
  const uint32_t shard = static_cast<uint32_t>(me.index) % shards;
  const uint32_t replica = static_cast<uint32_t>(me.index) / shards;
  LoadedShard loaded;
  if (!c.retrieval.index.empty()) {
    const IndexManifest m = ReadManifest(c.retrieval.index);
    PRLM_REQUIRE(m.num_shards == shards, "retrieval.index: '" << c.retrieval.index << "' has " << m.num_shards
                                                              << " shards but layout.retrieval / retrieval.replicas is "
                                                              << layout.retrieval << " / " << c.retrieval.replicas
                                                              << " = " << shards);
    loaded = LoadShard(c.retrieval.index, shard, c.retrieval.encoder);
  } else {
    loaded = BuildShard(c, shard, shards);
  }
  const size_t users = loaded.index->num_users(), items = loaded.index->num_items();
  VersionedShard served(std::move(loaded));
  net::RpcServer server(comm::ServiceServerOptions(c, start));
  RegisterRetrievalHandlers(server, served);
  const comm::TrainJob job = comm::JoinTrainJob(c, layout, start, server.port());
  spdlog::info("retrieval shard {} of {}{}: {} users, {} items, listening on port {}{}", shard, shards,
               c.retrieval.replicas > 1 ? fmt::format(" (replica {} of {})", replica, c.retrieval.replicas) : "", users,
               items, server.port(), start.tls.enabled() ? " (TLS)" : "");
  comm::ServeUntilStopped(job, server);
  return 0;
}

}  // namespace prlm::retrieval_shards
