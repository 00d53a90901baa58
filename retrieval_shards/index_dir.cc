#include "retrieval_shards/index_dir.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <filesystem>

#include "common/retrieval/protocol.h"
#include "common/retrieval/sharding.h"
#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::retrieval_shards {
namespace {

constexpr const char* kFormat = "prlm-retrieval-index";
constexpr int kVersion = 1;

}  // namespace

std::string ShardDir(const std::string& index_dir, uint32_t shard) {
  char name[32];
  std::snprintf(name, sizeof name, "/shard-%05u", shard);
  return index_dir + name;
}

void WriteManifest(const std::string& dir, const IndexManifest& m) {
  nlohmann::json j = {
      {"format", kFormat},
      {"version", kVersion},
      {"task", m.task},
      {"num_shards", m.num_shards},
      {"routing", "fnv1a64(user_id) % num_shards"},
      {"built", m.options.built},
      {"bm25", {{"k1", m.options.bm25.k1}, {"b", m.options.bm25.b}, {"epsilon", m.options.bm25.epsilon}}},
      {"random_seed", m.options.random_seed},
      {"hnsw",
       {{"m", m.options.hnsw_m},
        {"ef_construction", m.options.hnsw_ef_construction},
        {"ef_search", m.options.hnsw_ef_search}}},
      {"encoder",
       {{"model_dir", m.encoder.model_dir},
        {"pooling", m.encoder.pooling},
        {"max_length", m.encoder.max_length},
        {"batch_size", m.encoder.batch_size}}},
      {"dense_dim", m.dense_dim},
      {"users_per_shard", m.users_per_shard},
      {"items_per_shard", m.items_per_shard}};
  util::WriteFileAtomic(dir + "/manifest.json", j.dump(1));
}

IndexManifest ReadManifest(const std::string& dir) {
  const std::string path = dir + "/manifest.json";
  PRLM_REQUIRE(std::filesystem::exists(path), dir << " is not a prlm retrieval index (no manifest.json)");
  IndexManifest m;
  try {
    const auto j = nlohmann::json::parse(util::ReadFile(path));
    PRLM_REQUIRE(j.value("format", "") == kFormat, path << ": 'format' is not " << kFormat);
    PRLM_REQUIRE(j.at("version").get<int>() == kVersion,
                 path << ": version " << j.at("version") << ", this prlm reads version " << kVersion);
    m.task = j.at("task").get<std::string>();
    m.num_shards = j.at("num_shards").get<uint32_t>();
    PRLM_REQUIRE(m.num_shards >= 1, path << ": num_shards must be >= 1");
    m.options.built = j.at("built").get<std::vector<std::string>>();
    m.options.bm25 = {j.at("bm25").at("k1").get<double>(), j.at("bm25").at("b").get<double>(),
                      j.at("bm25").at("epsilon").get<double>()};
    m.options.random_seed = j.at("random_seed").get<uint64_t>();
    m.options.hnsw_m = j.at("hnsw").at("m").get<int>();
    m.options.hnsw_ef_construction = j.at("hnsw").at("ef_construction").get<int>();
    m.options.hnsw_ef_search = j.at("hnsw").at("ef_search").get<int>();
    const auto& e = j.at("encoder");
    m.encoder = {e.at("model_dir").get<std::string>(), e.at("pooling").get<std::string>(),
                 e.at("max_length").get<int>(), e.at("batch_size").get<int>()};
    m.dense_dim = j.at("dense_dim").get<int>();
    m.users_per_shard = j.at("users_per_shard").get<std::vector<uint64_t>>();
    m.items_per_shard = j.at("items_per_shard").get<std::vector<uint64_t>>();
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW(path << ": " << e.what());
  }
  return m;
}

void BuildIndex(const std::vector<const data::Dataset*>& datasets, IndexManifest& m, const std::string& out_dir,
                const std::function<void(const std::string&)>& log) {
  PRLM_REQUIRE(!datasets.empty(), "build-index: no data");
  PRLM_REQUIRE(m.num_shards >= 1, "build-index: --shards must be >= 1");
  for (const auto& r : m.options.built)
    PRLM_REQUIRE(r == "bm25" || r == "dense" || r == "dense_hnsw", "build-index: cannot build retriever '"
                                                                       << r
                                                                       << "'; buildable: bm25, dense, dense_hnsw "
                                                                          "(recency, random and none need no index)");
  const data::TaskSpec& task = *datasets[0]->task;
  m.task = task.name;
  std::unique_ptr<DenseEncoder> encoder;
  if (m.options.Has("dense") || m.options.Has("dense_hnsw")) {
    PRLM_REQUIRE(!m.encoder.model_dir.empty(), "build-index: dense retrievers need --encoder DIR");
    m.encoder.model_dir = std::filesystem::absolute(m.encoder.model_dir).string();
    encoder = std::make_unique<DenseEncoder>(m.encoder);
    m.dense_dim = encoder->dim();
  }
  // 1. Users, partitioned by the routing hash.
  std::vector<UserProfileInput> users = GroupByUser(datasets);
  std::vector<std::vector<UserProfileInput>> parts(m.num_shards);
  for (auto& u : users) parts[retrieval::ShardOf(u.user_id, m.num_shards)].push_back(std::move(u));
  // 2. Each shard: build, save, free.
  std::filesystem::create_directories(out_dir);
  m.users_per_shard.assign(m.num_shards, 0);
  m.items_per_shard.assign(m.num_shards, 0);
  for (uint32_t s = 0; s < m.num_shards; ++s) {
    const auto t0 = std::chrono::steady_clock::now();
    size_t last_report = 0;
    auto shard = ShardIndex::Build(task, std::move(parts[s]), m.options, encoder.get(), [&](size_t done, size_t total) {
      if (done - last_report >= 2000 || done == total) {
        last_report = done;
        log("shard " + std::to_string(s) + ": " + std::to_string(done) + " / " + std::to_string(total) +
            " users indexed");
      }
    });
    shard->Save(ShardDir(out_dir, s));
    m.users_per_shard[s] = shard->num_users();
    m.items_per_shard[s] = shard->num_items();
    const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    char line[160];
    std::snprintf(line, sizeof line, "shard %u: %zu users, %zu items, %.1f s", s, shard->num_users(),
                  shard->num_items(), secs);
    log(line);
  }
  WriteManifest(out_dir, m);
}

LoadedShard LoadShard(const std::string& index_dir, uint32_t shard, const std::string& encoder_dir) {
  LoadedShard out;
  out.manifest = ReadManifest(index_dir);
  const auto& m = out.manifest;
  PRLM_REQUIRE(shard < m.num_shards, "shard " << shard << " does not exist: " << index_dir << " has " << m.num_shards
                                              << " shards (0.." << m.num_shards - 1 << ")");
  const data::TaskSpec& task = data::TaskByName(m.task);
  DenseEncoderOptions enc = m.encoder;
  if (!encoder_dir.empty()) enc.model_dir = encoder_dir;
  if (!enc.model_dir.empty()) out.encoder = std::make_unique<DenseEncoder>(enc);
  out.index = ShardIndex::Load(ShardDir(index_dir, shard), task, m.options, out.encoder.get());
  out.index->SetShard(shard, m.num_shards);
  return out;
}

}  // namespace prlm::retrieval_shards
