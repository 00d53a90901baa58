#include "retrieval_shards/bm25.h"

#include <algorithm>
#include <cmath>
#include <map>

#include "common/text/unicode.h"
#include "common/util/check.h"

namespace prlm::retrieval_shards {

Bm25 Bm25::Build(const std::vector<std::string>& documents, const Bm25Params& params) {
  Bm25 bm;
  bm.params_ = params;
  for (uint32_t d = 0; d < documents.size(); ++d) {
    const auto tokens = text::SplitPythonWhitespace(documents[d]);
    bm.doc_lengths_.push_back(static_cast<uint32_t>(tokens.size()));
    std::map<std::string_view, uint32_t> tf;
    for (auto t : tokens) ++tf[t];
    for (const auto& [t, c] : tf) {
      Postings& p = bm.terms_[std::string(t)];
      p.docs.push_back(d);
      p.tfs.push_back(c);
    }
  }
  bm.ComputeIdf();
  return bm;
}

Bm25 Bm25::FromProto(const proto::UserBm25& stored, const Bm25Params& params) {
  Bm25 bm;
  bm.params_ = params;
  bm.doc_lengths_.assign(stored.doc_lengths().begin(), stored.doc_lengths().end());
  for (const auto& t : stored.terms()) {
    PRLM_REQUIRE(t.docs_size() == t.tfs_size() && t.docs_size() > 0,
                 "BM25 postings of user '" << stored.user_id() << "', term '" << t.term() << "' are inconsistent");
    for (uint32_t d : t.docs())
      PRLM_REQUIRE(d < bm.doc_lengths_.size(),
                   "BM25 postings of user '" << stored.user_id() << "' point past the profile (item " << d << ")");
    Postings& p = bm.terms_[t.term()];
    p.docs.assign(t.docs().begin(), t.docs().end());
    p.tfs.assign(t.tfs().begin(), t.tfs().end());
  }
  bm.ComputeIdf();
  return bm;
}

proto::UserBm25 Bm25::ToProto(const std::string& user_id) const {
  proto::UserBm25 out;
  out.set_user_id(user_id);
  for (uint32_t l : doc_lengths_) out.add_doc_lengths(l);
  // Sorted by term so the file is the same on every run.
  std::map<std::string_view, const Postings*> sorted;
  for (const auto& [t, p] : terms_) sorted.emplace(t, &p);
  for (const auto& [t, p] : sorted) {
    auto* pt = out.add_terms();
    pt->set_term(std::string(t));
    for (size_t i = 0; i < p->docs.size(); ++i) {
      pt->add_docs(p->docs[i]);
      pt->add_tfs(p->tfs[i]);
    }
  }
  return out;
}

void Bm25::ComputeIdf() {
  const double n_docs = static_cast<double>(doc_lengths_.size());
  double total = 0;
  for (uint32_t l : doc_lengths_) total += l;
  avgdl_ = n_docs ? total / n_docs : 0;
  // Sum the idfs in term order: a hash map's order would make the mean (and
  // so the floor) differ in the last bits between a built and a loaded index.
  std::vector<std::pair<std::string_view, Postings*>> sorted;
  sorted.reserve(terms_.size());
  for (auto& [t, p] : terms_) sorted.emplace_back(t, &p);
  std::sort(sorted.begin(), sorted.end());
  double idf_sum = 0;
  std::vector<Postings*> negative;
  for (auto& [t, p] : sorted) {
    const double n = static_cast<double>(p->docs.size());
    p->idf = std::log(n_docs - n + 0.5) - std::log(n + 0.5);
    idf_sum += p->idf;
    if (p->idf < 0) negative.push_back(p);
  }
  const double floor = terms_.empty() ? 0 : params_.epsilon * idf_sum / terms_.size();
  for (Postings* p : negative) p->idf = floor;
}

std::vector<double> Bm25::Scores(std::string_view query) const {
  std::vector<double> scores(doc_lengths_.size(), 0.0);
  const double k1 = params_.k1, b = params_.b;
  for (auto q : text::SplitPythonWhitespace(query)) {
    auto it = terms_.find(std::string(q));
    if (it == terms_.end()) continue;
    const Postings& p = it->second;
    for (size_t i = 0; i < p.docs.size(); ++i) {
      const double tf = p.tfs[i];
      const double len_ratio = avgdl_ > 0 ? doc_lengths_[p.docs[i]] / avgdl_ : 0;
      scores[p.docs[i]] += p.idf * (tf * (k1 + 1) / (tf + k1 * (1 - b + b * len_ratio)));
    }
  }
  return scores;
}

}  // namespace prlm::retrieval_shards
