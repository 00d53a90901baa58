#include "retrieval_shards/shard_index.h"

#include <faiss/IndexFlat.h>
#include <faiss/IndexHNSW.h>
#include <faiss/impl/FaissException.h>
#include <faiss/impl/io.h>
#include <faiss/index_io.h>
#include <google/protobuf/io/zero_copy_stream_impl.h>
#include <google/protobuf/util/delimited_message_util.h>

#include <omp.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <numeric>
#include <unordered_set>

#include "common/retrieval/protocol.h"
#include "common/retrieval/sharding.h"
#include "common/util/check.h"
#include "common/util/rng.h"
#include "retrieval_shards/dense_encoder.h"

namespace prlm::retrieval_shards {
namespace {

namespace fs = std::filesystem;

std::string JoinNames(const std::vector<std::string>& names) {
  std::string s;
  for (const auto& n : names) s += (s.empty() ? "" : ", ") + n;
  return s.empty() ? "none" : s;
}

// Writes length-delimited records to `path` atomically.
template <typename Fill>
void WriteRecords(const std::string& path, Fill fill) {
  const std::string tmp = path + ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    PRLM_REQUIRE(out, "cannot write " << tmp);
    fill(out);
    out.flush();
    PRLM_REQUIRE(out, "write failed: " << tmp);
  }
  fs::rename(tmp, path);
}

// Reads length-delimited records of type M from `path`, calling fn(record, index).
template <typename M, typename Fn>
void ReadRecords(const std::string& path, Fn fn) {
  std::ifstream in(path, std::ios::binary);
  PRLM_REQUIRE(in, "cannot open " << path);
  google::protobuf::io::IstreamInputStream stream(&in);
  for (size_t i = 0;; ++i) {
    M record;
    bool clean_eof = false;
    if (!google::protobuf::util::ParseDelimitedFromZeroCopyStream(&record, &stream, &clean_eof)) {
      PRLM_REQUIRE(clean_eof, path << ": record " << i << " is damaged or truncated");
      return;
    }
    fn(std::move(record), i);
  }
}

}  // namespace

bool IndexOptions::Has(const std::string& r) const { return std::find(built.begin(), built.end(), r) != built.end(); }

std::vector<UserProfileInput> GroupByUser(const std::vector<const data::Dataset*>& datasets) {
  std::vector<UserProfileInput> users;
  std::unordered_map<std::string, size_t> index;
  std::vector<std::unordered_set<std::string>> item_ids;
  for (const auto* ds : datasets) {
    for (const auto& ex : ds->examples) {
      auto [it, fresh] = index.emplace(ex.user_id, users.size());
      if (fresh) {
        users.push_back({ex.user_id, {}});
        item_ids.emplace_back();
      }
      for (const auto& item : ex.profile)
        if (item_ids[it->second].insert(item.id).second) users[it->second].items.push_back(item);
    }
  }
  return users;
}

ShardIndex::~ShardIndex() = default;

size_t ShardIndex::num_items() const {
  size_t n = 0;
  for (const auto& u : users_) n += u.items.size();
  return n;
}

std::vector<std::string> ShardIndex::user_ids() const {
  std::vector<std::string> ids;
  for (const auto& u : users_) ids.push_back(u.user_id);
  return ids;
}

std::vector<UserProfileInput> ShardIndex::Profiles() const {
  std::vector<UserProfileInput> out;
  for (const auto& u : users_) out.push_back({u.user_id, u.items});
  return out;
}

void ShardIndex::SetShard(uint32_t shard, uint32_t num_shards) {
  shard_ = shard;
  num_shards_ = num_shards;
}

void ShardIndex::IndexUsers() {
  by_id_.clear();
  for (size_t i = 0; i < users_.size(); ++i) {
    PRLM_REQUIRE(by_id_.emplace(users_[i].user_id, i).second, "user '" << users_[i].user_id << "' appears twice");
  }
}

std::unique_ptr<ShardIndex> ShardIndex::Build(const data::TaskSpec& task, std::vector<UserProfileInput> users,
                                              const IndexOptions& options, const DenseEncoder* encoder,
                                              const Progress& progress) {
  const bool dense = options.Has("dense") || options.Has("dense_hnsw");
  PRLM_REQUIRE(!dense || encoder, "a dense index needs an encoder (--encoder DIR)");
  std::unique_ptr<ShardIndex> index(new ShardIndex());
  index->task_ = &task;
  index->options_ = options;
  index->encoder_ = encoder;
  index->dense_dim_ = dense ? encoder->dim() : 0;
  index->users_.reserve(users.size());
  for (size_t u = 0; u < users.size(); ++u) {
    User user;
    user.user_id = std::move(users[u].user_id);
    user.items = std::move(users[u].items);
    std::vector<std::string> corpus;
    corpus.reserve(user.items.size());
    for (const auto& item : user.items) corpus.push_back(data::CorpusText(task, item));
    if (options.Has("bm25")) user.bm25 = std::make_unique<Bm25>(Bm25::Build(corpus, options.bm25));
    if (dense) {
      // Each user's items are their own batches: see dense_encoder.h.
      const std::vector<float> emb = encoder->Embed(corpus);
      const int d = index->dense_dim_;
      if (options.Has("dense")) {
        user.flat = std::make_unique<faiss::IndexFlatIP>(d);
        user.flat->add(static_cast<int64_t>(corpus.size()), emb.data());
      }
      if (options.Has("dense_hnsw")) {
        auto hnsw = std::make_unique<faiss::IndexHNSWFlat>(d, options.hnsw_m, faiss::METRIC_INNER_PRODUCT);
        hnsw->hnsw.efConstruction = options.hnsw_ef_construction;
        hnsw->hnsw.efSearch = options.hnsw_ef_search;
        // One thread: FAISS adds HNSW vertices in parallel, which makes the
        // graph (and so the results) depend on timing. Per-user graphs are small.
        const int threads = omp_get_max_threads();
        omp_set_num_threads(1);
        hnsw->add(static_cast<int64_t>(corpus.size()), emb.data());
        omp_set_num_threads(threads);
        user.hnsw = std::move(hnsw);
      }
    }
    index->users_.push_back(std::move(user));
    if (progress) progress(u + 1, users.size());
  }
  index->IndexUsers();
  return index;
}

void ShardIndex::Save(const std::string& dir) const {
  fs::create_directories(dir);
  WriteRecords(dir + "/profiles.pb", [&](std::ostream& out) {
    for (const auto& u : users_) {
      proto::UserProfile p;
      p.set_user_id(u.user_id);
      for (const auto& item : u.items) {
        auto* s = p.add_items();
        s->set_id(item.id);
        s->set_date(item.date);
        s->set_date_key(item.date_key);
        for (const auto& [k, v] : item.fields) {
          auto* f = s->add_fields();
          f->set_name(k);
          f->set_value(v);
        }
      }
      google::protobuf::util::SerializeDelimitedToOstream(p, &out);
    }
  });
  if (options_.Has("bm25"))
    WriteRecords(dir + "/bm25.pb", [&](std::ostream& out) {
      for (const auto& u : users_)
        google::protobuf::util::SerializeDelimitedToOstream(u.bm25->ToProto(u.user_id), &out);
    });
  for (const bool hnsw : {false, true}) {
    if (!options_.Has(hnsw ? "dense_hnsw" : "dense")) continue;
    const std::string path = dir + (hnsw ? "/dense_hnsw.faiss" : "/dense_flat.faiss");
    {
      faiss::FileIOWriter writer((path + ".tmp").c_str());
      for (const auto& u : users_) faiss::write_index(hnsw ? u.hnsw.get() : u.flat.get(), &writer);
    }
    fs::rename(path + ".tmp", path);
  }
}

std::unique_ptr<ShardIndex> ShardIndex::Load(const std::string& dir, const data::TaskSpec& task,
                                             const IndexOptions& options, const DenseEncoder* encoder) {
  std::unique_ptr<ShardIndex> index(new ShardIndex());
  index->task_ = &task;
  index->options_ = options;
  index->encoder_ = encoder;
  ReadRecords<proto::UserProfile>(dir + "/profiles.pb", [&](proto::UserProfile p, size_t) {
    User u;
    u.user_id = p.user_id();
    u.items.reserve(p.items_size());
    for (auto& s : *p.mutable_items()) {
      data::ProfileItem item;
      item.id = std::move(*s.mutable_id());
      item.date = std::move(*s.mutable_date());
      item.date_key = s.date_key();
      for (auto& f : *s.mutable_fields())
        item.fields.emplace_back(std::move(*f.mutable_name()), std::move(*f.mutable_value()));
      u.items.push_back(std::move(item));
    }
    index->users_.push_back(std::move(u));
  });
  index->IndexUsers();
  if (options.Has("bm25")) {
    size_t n = 0;
    ReadRecords<proto::UserBm25>(dir + "/bm25.pb", [&](proto::UserBm25 b, size_t i) {
      PRLM_REQUIRE(i < index->users_.size() && b.user_id() == index->users_[i].user_id,
                   dir << "/bm25.pb: record " << i << " (user '" << b.user_id() << "') does not match profiles.pb");
      PRLM_REQUIRE(static_cast<size_t>(b.doc_lengths_size()) == index->users_[i].items.size(),
                   dir << "/bm25.pb: user '" << b.user_id() << "' has " << b.doc_lengths_size()
                       << " documents, the profile " << index->users_[i].items.size());
      index->users_[i].bm25 = std::make_unique<Bm25>(Bm25::FromProto(b, options.bm25));
      ++n;
    });
    PRLM_REQUIRE(n == index->users_.size(),
                 dir << "/bm25.pb: " << n << " users, profiles.pb has " << index->users_.size());
  }
  for (const bool hnsw : {false, true}) {
    if (!options.Has(hnsw ? "dense_hnsw" : "dense")) continue;
    const std::string path = dir + (hnsw ? "/dense_hnsw.faiss" : "/dense_flat.faiss");
    PRLM_REQUIRE(fs::exists(path), "missing " << path);
    try {
      faiss::FileIOReader reader(path.c_str());
      for (auto& u : index->users_) {
        std::unique_ptr<faiss::Index> idx(faiss::read_index(&reader));
        PRLM_REQUIRE(idx->ntotal == static_cast<int64_t>(u.items.size()), path << ": user '" << u.user_id << "' has "
                                                                               << idx->ntotal << " vectors for "
                                                                               << u.items.size() << " items");
        PRLM_REQUIRE(index->dense_dim_ == 0 || index->dense_dim_ == idx->d, path << ": mixed dimensions");
        index->dense_dim_ = idx->d;
        if (hnsw) dynamic_cast<faiss::IndexHNSW&>(*idx).hnsw.efSearch = options.hnsw_ef_search;
        (hnsw ? u.hnsw : u.flat) = std::move(idx);
      }
    } catch (const faiss::FaissException& e) {
      PRLM_THROW(path << ": damaged FAISS index file (" << e.what() << ")");
    } catch (const std::bad_cast&) {
      PRLM_THROW(path << ": not an HNSW index");
    }
  }
  PRLM_REQUIRE(!encoder || index->dense_dim_ == 0 || encoder->dim() == index->dense_dim_,
               "the encoder's dimension " << (encoder ? encoder->dim() : 0) << " differs from the index's "
                                          << index->dense_dim_);
  return index;
}

const faiss::Index* ShardIndex::FaissIndex(const std::string& user_id, bool hnsw) const {
  auto it = by_id_.find(user_id);
  if (it == by_id_.end()) return nullptr;
  return hnsw ? users_[it->second].hnsw.get() : users_[it->second].flat.get();
}

std::vector<float> ShardIndex::QueryEmbedding(const proto::RetrieveRequest& request, std::string* error) const {
  if (request.query_embedding_size() > 0) {
    if (request.query_embedding_size() != dense_dim_) {
      *error = "query_embedding has " + std::to_string(request.query_embedding_size()) +
               " values; this index's dimension is " + std::to_string(dense_dim_);
      return {};
    }
    return {request.query_embedding().begin(), request.query_embedding().end()};
  }
  if (!encoder_) {
    *error = "this shard has no encoder loaded; send query_embedding or start it with --encoder";
    return {};
  }
  return encoder_->Embed({request.query()});
}

proto::RetrieveResult ShardIndex::Retrieve(const proto::RetrieveRequest& request) const {
  proto::RetrieveResult result;
  auto it = by_id_.find(request.user_id());
  if (it == by_id_.end()) {
    const uint32_t home = retrieval::ShardOf(request.user_id(), num_shards_);
    result.set_error("user '" + request.user_id() + "' is not on shard " + std::to_string(shard_) + " of " +
                     std::to_string(num_shards_) +
                     (home == shard_ ? " (unknown user)" : " (it belongs to shard " + std::to_string(home) + ")"));
    return result;
  }
  if (request.k() > retrieval::kMaxK) {
    result.set_error("k = " + std::to_string(request.k()) + " is over the limit of " +
                     std::to_string(retrieval::kMaxK));
    return result;
  }
  const User& user = users_[it->second];
  const std::string& r = request.retriever().empty() ? std::string("bm25") : request.retriever();
  const size_t n = user.items.size();
  const size_t k = std::min<size_t>(request.k(), n);
  std::vector<std::pair<uint32_t, double>> hits;  // (position, score)

  if ((r == "bm25" || r == "dense" || r == "dense_hnsw") && !options_.Has(r)) {
    result.set_error("retriever '" + r + "' was not built into this index (built: " + JoinNames(options_.built) + ")");
    return result;
  }
  if (r == "none") {
  } else if (r == "bm25") {
    const std::vector<double> scores = user.bm25->Scores(request.query());
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::partial_sort(order.begin(), order.begin() + k, order.end(), [&](uint32_t a, uint32_t b) {
      return scores[a] > scores[b] || (scores[a] == scores[b] && a < b);
    });
    for (size_t i = 0; i < k; ++i) hits.emplace_back(order[i], scores[order[i]]);
  } else if (r == "dense" || r == "dense_hnsw") {
    std::string error;
    const std::vector<float> q = QueryEmbedding(request, &error);
    if (!error.empty()) {
      result.set_error(error);
      return result;
    }
    if (k > 0) {
      std::vector<float> distances(k);
      std::vector<int64_t> labels(k);
      (r == "dense" ? user.flat : user.hnsw)
          ->search(1, q.data(), static_cast<int64_t>(k), distances.data(), labels.data());
      for (size_t i = 0; i < k; ++i)
        if (labels[i] >= 0) hits.emplace_back(static_cast<uint32_t>(labels[i]), distances[i]);
    }
  } else if (r == "recency") {
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(),
                     [&](uint32_t a, uint32_t b) { return user.items[a].date_key > user.items[b].date_key; });
    for (size_t i = 0; i < k; ++i) hits.emplace_back(order[i], std::max(0, user.items[order[i]].date_key));
  } else if (r == "random") {
    std::vector<uint32_t> order(n);
    std::iota(order.begin(), order.end(), 0);
    util::SplitMix64 rng(retrieval::Fnv1a64(request.query(), retrieval::Fnv1a64(user.user_id, options_.random_seed)));
    for (size_t i = 0; i < k; ++i) std::swap(order[i], order[i + rng.Below(static_cast<int>(n - i))]);
    for (size_t i = 0; i < k; ++i) hits.emplace_back(order[i], 0.0);
  } else {
    result.set_error("unknown retriever '" + r + "'; known: " + JoinNames(retrieval::RetrieverNames()));
    return result;
  }
  for (const auto& [pos, score] : hits) {
    const data::ProfileItem& item = user.items[pos];
    auto* out = result.add_items();
    out->set_id(item.id);
    out->set_date(item.date);
    out->set_score(score);
    out->set_position(pos);
    for (const auto& [name, value] : item.fields) {
      auto* f = out->add_fields();
      f->set_name(name);
      f->set_value(value);
    }
  }
  return result;
}

}  // namespace prlm::retrieval_shards
