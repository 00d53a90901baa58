// Okapi BM25 over one user's profile, as rank_bm25's BM25Okapi computes it
// (the implementation LaMP and PrLM use):
//
//   idf(t)   = ln((N - n_t + 0.5) / (n_t + 0.5)); a negative idf is replaced
//              by epsilon * (mean idf over the user's vocabulary)
//   score(d) = sum over query tokens q (repeats count) of
//              idf(q) * tf(q,d) * (k1 + 1) / (tf(q,d) + k1 * (1 - b + b * |d| / avgdl))
//
// Tokens are Python's str.split() pieces (every Unicode whitespace separates),
// case kept.
// Defaults k1 = 1.5, b = 0.75, epsilon = 0.25 (rank_bm25's).
// Thread-safety: immutable after Build / FromProto.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "proto/retrieval.pb.h"

namespace prlm::retrieval_shards {

struct Bm25Params {
  double k1 = 1.5, b = 0.75, epsilon = 0.25;
};

class Bm25 {
 public:
  static Bm25 Build(const std::vector<std::string>& documents, const Bm25Params& params);
  // From stored postings. Throws util::Error if they are inconsistent.
  static Bm25 FromProto(const proto::UserBm25& stored, const Bm25Params& params);
  proto::UserBm25 ToProto(const std::string& user_id) const;

  // One score per document, in document order.
  std::vector<double> Scores(std::string_view query) const;
  size_t num_documents() const { return doc_lengths_.size(); }

 private:
  struct Postings {
    std::vector<uint32_t> docs, tfs;
    double idf = 0;
  };
  void ComputeIdf();
  Bm25Params params_;
  std::vector<uint32_t> doc_lengths_;
  double avgdl_ = 0;
  std::unordered_map<std::string, Postings> terms_;
};

}  // namespace prlm::retrieval_shards
