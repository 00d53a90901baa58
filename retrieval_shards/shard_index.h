// One retrieval shard in memory: its users' profile items and, per user, the
// indexes the retrievers need.
//
// Retrievers (protocol.h names):
//   bm25        Okapi BM25 over the item's corpus text (bm25.h)
//   dense       exact inner product over L2-normalised encoder embeddings
//               (FAISS IndexFlatIP, one per user)
//   dense_hnsw  the approximate choice: FAISS IndexHNSWFlat (inner product)
//               per user; its recall against `dense` is measured in bench/
//   recency     newest first by date (undated items last, ties in profile order)
//   random      a permutation seeded by (seed, user, query): repeatable
//   none        no items (the zero-shot baseline)
// Ties in bm25 keep profile order. Scores: bm25 score, inner product, the
// date as YYYYMMDD for recency, 0 for random.
//
// A request for a user this shard does not hold, an unknown retriever, one not
// built into this index, or a k over kMaxK gets RetrieveResult.error, never an
// exception. Dense requests may carry their own query_embedding (then the
// shard needs no encoder for them).
//
// Thread-safety: immutable after Build/Load; Retrieve() is safe from many threads.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/data/dataset.h"
#include "proto/retrieval.pb.h"
#include "retrieval_shards/bm25.h"

namespace faiss {
struct Index;
}

namespace prlm::retrieval_shards {

class DenseEncoder;

struct UserProfileInput {
  std::string user_id;
  std::vector<data::ProfileItem> items;
};

// Every user of the data sets with the union of their profile items (by item
// id, first seen wins), in order of first appearance.
std::vector<UserProfileInput> GroupByUser(const std::vector<const data::Dataset*>& datasets);

struct IndexOptions {
  std::vector<std::string> built;  // which of bm25, dense, dense_hnsw to build
  Bm25Params bm25;
  uint64_t random_seed = 42;
  int hnsw_m = 32, hnsw_ef_construction = 80, hnsw_ef_search = 64;
  bool Has(const std::string& retriever) const;
};

class ShardIndex {
 public:
  using Progress = std::function<void(size_t users_done, size_t users_total)>;

  // REQUIRES: an encoder when dense or dense_hnsw is built.
  static std::unique_ptr<ShardIndex> Build(const data::TaskSpec& task, std::vector<UserProfileInput> users,
                                           const IndexOptions& options, const DenseEncoder* encoder,
                                           const Progress& progress = {});
  // Writes profiles.pb, bm25.pb, dense_flat.faiss, dense_hnsw.faiss into `dir`.
  void Save(const std::string& dir) const;
  // Reads what Save wrote; throws util::Error naming the file on any damage.
  static std::unique_ptr<ShardIndex> Load(const std::string& dir, const data::TaskSpec& task,
                                          const IndexOptions& options, const DenseEncoder* encoder);
  ~ShardIndex();

  // Identifies this shard in errors ("user 'x' is not on shard 1 of 4").
  void SetShard(uint32_t shard, uint32_t num_shards);

  proto::RetrieveResult Retrieve(const proto::RetrieveRequest& request) const;

  size_t num_users() const { return users_.size(); }
  std::vector<std::string> user_ids() const;
  // Every user's items, in order: what a rebuild with another encoder starts from.
  std::vector<UserProfileInput> Profiles() const;
  const data::TaskSpec& task() const { return *task_; }
  size_t num_items() const;
  int dense_dim() const { return dense_dim_; }
  uint32_t shard() const { return shard_; }
  uint32_t num_shards() const { return num_shards_; }
  const IndexOptions& options() const { return options_; }
  // For benchmarks: the user's FAISS index (nullptr if absent).
  const faiss::Index* FaissIndex(const std::string& user_id, bool hnsw) const;

 private:
  struct User {
    std::string user_id;
    std::vector<data::ProfileItem> items;
    std::unique_ptr<Bm25> bm25;
    std::unique_ptr<faiss::Index> flat, hnsw;
  };
  ShardIndex() = default;
  void IndexUsers();
  std::vector<float> QueryEmbedding(const proto::RetrieveRequest& request, std::string* error) const;

  const data::TaskSpec* task_ = nullptr;
  IndexOptions options_;
  const DenseEncoder* encoder_ = nullptr;
  int dense_dim_ = 0;
  uint32_t shard_ = 0, num_shards_ = 1;
  std::vector<User> users_;
  std::unordered_map<std::string, size_t> by_id_;
};

}  // namespace prlm::retrieval_shards
