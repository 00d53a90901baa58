// Byte-pair encoding: start from one symbol per character and repeatedly apply
// the lowest-ranked merge among adjacent pairs (leftmost first on ties), as
// Hugging Face's BPE model does. A priority queue over a linked list of
// symbols keeps long pieces O(n log n). Results for short pieces are cached.
#include <nlohmann/json.hpp>

#include <mutex>
#include <queue>
#include <shared_mutex>
#include <unordered_map>

#include "common/text/token_model.h"
#include "common/text/unicode.h"
#include "common/util/check.h"

namespace prlm::text {
namespace {

uint64_t PairKey(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

class BpeModel : public TokenModel {
 public:
  explicit BpeModel(const nlohmann::json& spec) {
    for (const auto& [tok, id] : spec.at("vocab").items()) vocab_.Add(tok, id.get<int32_t>());
    ignore_merges_ = spec.value("ignore_merges", false);
    byte_fallback_ = spec.value("byte_fallback", false);
    if (spec.contains("unk_token") && spec["unk_token"].is_string())
      unk_ = vocab_.Find(spec["unk_token"].get<std::string>());
    for (const char* key : {"continuing_subword_prefix", "end_of_word_suffix"}) {
      PRLM_REQUIRE(!spec.contains(key) || spec[key].is_null() || spec[key] == "",
                   "tokenizer.json: BPE option '" << key << "' is not supported");
    }
    const auto& merges = spec.at("merges");
    merges_.reserve(merges.size() * 2);
    int32_t rank = 0;
    for (const auto& m : merges) {
      std::string a, b;
      if (m.is_array()) {  // ["a", "b"] (tokenizers >= 0.20)
        PRLM_REQUIRE(m.size() == 2, "tokenizer.json: merge " << rank << " is not a pair");
        a = m[0].get<std::string>(), b = m[1].get<std::string>();
      } else {  // "a b"
        const std::string s = m.get<std::string>();
        const size_t sp = s.find(' ', 1);
        PRLM_REQUIRE(sp != std::string::npos, "tokenizer.json: merge " << rank << " '" << s << "' has no space");
        a = s.substr(0, sp), b = s.substr(sp + 1);
      }
      const auto ia = vocab_.Find(a), ib = vocab_.Find(b), im = vocab_.Find(a + b);
      PRLM_REQUIRE(ia && ib && im, "tokenizer.json: merge " << rank << " ('" << a << "', '" << b
                                                            << "') uses a token not in the vocabulary");
      merges_.emplace(PairKey(*ia, *ib), MergeRule{rank, *im});
      ++rank;
    }
  }

  const Vocab& vocab() const override { return vocab_; }

  void Tokenize(std::string_view piece, std::vector<int32_t>& out) const override {
    if (piece.empty()) return;
    if (ignore_merges_) {
      if (auto id = vocab_.Find(piece)) {
        out.push_back(*id);
        return;
      }
    }
    constexpr size_t kCacheMaxPiece = 64, kCacheMaxEntries = 1 << 16;
    const bool cacheable = piece.size() <= kCacheMaxPiece;
    if (cacheable) {
      std::shared_lock lock(cache_mu_);
      const auto it = cache_.find(std::string(piece));
      if (it != cache_.end()) {
        out.insert(out.end(), it->second.begin(), it->second.end());
        return;
      }
    }
    std::vector<int32_t> ids = ApplyMerges(InitialSymbols(piece));
    if (cacheable) {
      std::unique_lock lock(cache_mu_);
      if (cache_.size() < kCacheMaxEntries) cache_.emplace(std::string(piece), ids);
    }
    out.insert(out.end(), ids.begin(), ids.end());
  }

 private:
  struct MergeRule {
    int32_t rank, id;
  };

  // One symbol per character; characters missing from the vocabulary become
  // <0xXX> byte tokens (byte_fallback), the unk token, or are dropped.
  std::vector<int32_t> InitialSymbols(std::string_view piece) const {
    std::vector<int32_t> syms;
    syms.reserve(piece.size());
    for (size_t pos = 0; pos < piece.size();) {
      const size_t start = pos;
      NextCodepoint(piece, pos);
      const std::string_view ch = piece.substr(start, pos - start);
      if (auto id = vocab_.Find(ch)) {
        syms.push_back(*id);
        continue;
      }
      if (byte_fallback_) {
        bool all = true;
        std::vector<int32_t> bytes;
        for (unsigned char c : ch) {
          char name[8];
          std::snprintf(name, sizeof(name), "<0x%02X>", c);
          if (auto id = vocab_.Find(name))
            bytes.push_back(*id);
          else
            all = false;
        }
        if (all) {
          syms.insert(syms.end(), bytes.begin(), bytes.end());
          continue;
        }
      }
      if (unk_) syms.push_back(*unk_);
    }
    return syms;
  }

  std::vector<int32_t> ApplyMerges(std::vector<int32_t> syms) const {
    const int n = static_cast<int>(syms.size());
    if (n < 2) return syms;
    std::vector<int> prev(n), next(n);
    for (int i = 0; i < n; ++i) prev[i] = i - 1, next[i] = i + 1 < n ? i + 1 : -1;
    struct Cand {
      int32_t rank;
      int pos;
      int32_t left, right, merged;
    };
    const auto worse = [](const Cand& x, const Cand& y) { return x.rank != y.rank ? x.rank > y.rank : x.pos > y.pos; };
    std::priority_queue<Cand, std::vector<Cand>, decltype(worse)> heap(worse);
    const auto push = [&](int i) {
      if (i < 0 || next[i] < 0) return;
      const auto it = merges_.find(PairKey(syms[i], syms[next[i]]));
      if (it != merges_.end()) heap.push({it->second.rank, i, syms[i], syms[next[i]], it->second.id});
    };
    for (int i = 0; i + 1 < n; ++i) push(i);
    while (!heap.empty()) {
      const Cand c = heap.top();
      heap.pop();
      const int i = c.pos;
      // Stale candidate: a neighbour changed since it was pushed.
      if (syms[i] != c.left || next[i] < 0 || syms[next[i]] != c.right) continue;
      const int j = next[i];
      syms[i] = c.merged;
      syms[j] = -1;
      next[i] = next[j];
      if (next[j] >= 0) prev[next[j]] = i;
      push(prev[i]);
      push(i);
    }
    std::vector<int32_t> out;
    for (int i = 0; i >= 0; i = next[i]) out.push_back(syms[i]);
    return out;
  }

  Vocab vocab_;
  std::unordered_map<uint64_t, MergeRule> merges_;
  bool ignore_merges_ = false, byte_fallback_ = false;
  std::optional<int32_t> unk_;
  mutable std::shared_mutex cache_mu_;
  mutable std::unordered_map<std::string, std::vector<int32_t>> cache_;
};

// Greedy longest-match-first over each word; a word with any unmatched
// remainder, or longer than max_input_chars_per_word, becomes [UNK].
class WordPieceModel : public TokenModel {
 public:
  explicit WordPieceModel(const nlohmann::json& spec) {
    for (const auto& [tok, id] : spec.at("vocab").items()) vocab_.Add(tok, id.get<int32_t>());
    const std::string unk = spec.value("unk_token", std::string("[UNK]"));
    const auto unk_id = vocab_.Find(unk);
    PRLM_REQUIRE(unk_id, "tokenizer.json: WordPiece unk_token '" << unk << "' is not in the vocabulary");
    unk_ = *unk_id;
    prefix_ = spec.value("continuing_subword_prefix", std::string("##"));
    max_chars_ = spec.value("max_input_chars_per_word", 100);
  }

  const Vocab& vocab() const override { return vocab_; }

  void Tokenize(std::string_view word, std::vector<int32_t>& out) const override {
    // Code point boundaries, so candidate substrings never split a character.
    std::vector<size_t> bounds;
    for (size_t pos = 0; pos < word.size();) {
      bounds.push_back(pos);
      NextCodepoint(word, pos);
    }
    bounds.push_back(word.size());
    const size_t nchars = bounds.size() - 1;
    if (static_cast<int>(nchars) > max_chars_) {
      out.push_back(unk_);
      return;
    }
    std::vector<int32_t> pieces;
    size_t start = 0;
    std::string cand;
    while (start < nchars) {
      size_t end = nchars;
      std::optional<int32_t> found;
      for (; end > start; --end) {
        cand.assign(start > 0 ? prefix_ : "");
        cand.append(word.substr(bounds[start], bounds[end] - bounds[start]));
        if ((found = vocab_.Find(cand))) break;
      }
      if (!found) {
        out.push_back(unk_);
        return;
      }
      pieces.push_back(*found);
      start = end;
    }
    out.insert(out.end(), pieces.begin(), pieces.end());
  }

 private:
  Vocab vocab_;
  int32_t unk_ = 0;
  std::string prefix_;
  int max_chars_ = 100;
};

}  // namespace

std::unique_ptr<TokenModel> TokenModel::FromJson(const nlohmann::json& spec) {
  PRLM_REQUIRE(spec.is_object(), "tokenizer.json: \"model\" must be an object");
  const std::string type = spec.value("type", std::string(spec.contains("merges") ? "BPE" : ""));
  if (type == "BPE") return std::make_unique<BpeModel>(spec);
  if (type == "WordPiece") return std::make_unique<WordPieceModel>(spec);
  PRLM_THROW("tokenizer.json: unsupported model type '" << type << "' (supported: BPE, WordPiece)");
}

}  // namespace prlm::text
