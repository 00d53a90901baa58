#include "pipeline/bpe_trainer.h"

#include <nlohmann/json.hpp>

#include <map>
#include <queue>
#include <unordered_map>
#include <unordered_set>

#include "common/text/byte_level.h"
#include "common/text/pre_tokenizer.h"
#include "common/text/unicode.h"
#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::pipeline {
namespace {

uint64_t PairKey(int32_t a, int32_t b) {
  return (static_cast<uint64_t>(static_cast<uint32_t>(a)) << 32) | static_cast<uint32_t>(b);
}

nlohmann::json PipelineJson() {
  return {
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"},
           {"pattern", {{"Regex", text::kQwen2SplitPattern}}},
           {"behavior", "Isolated"},
           {"invert", false}},
          {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}}}}}},
  };
}

}  // namespace

std::string TrainByteLevelBpe(const std::vector<std::string>& texts, const BpeTrainerOptions& opt) {
  const int n_special = static_cast<int>(opt.special_tokens.size());
  PRLM_REQUIRE(opt.vocab_size > 256 + n_special, "vocab size " << opt.vocab_size << " is too small: need more than "
                                                               << 256 + n_special << " (256 bytes + special tokens)");
  const nlohmann::json pipeline = PipelineJson();
  const auto pre = text::PreTokenizer::FromJson(pipeline["pre_tokenizer"]);

  // 1. Count words (byte-level strings) over the corpus.
  std::unordered_map<std::string, int64_t> word_counts;
  for (const auto& t : texts) {
    std::vector<std::string> pieces{text::Nfc(t)};
    pre->PreTokenize(pieces);
    for (auto& p : pieces) ++word_counts[p];
  }

  // 2. Base alphabet: the 256 byte characters.
  std::vector<std::string> tokens;
  std::unordered_map<std::string, int32_t> token_ids;
  for (int b = 0; b < 256; ++b) {
    token_ids[text::ByteToChars(static_cast<uint8_t>(b))] = b;
    tokens.push_back(text::ByteToChars(static_cast<uint8_t>(b)));
  }
  std::vector<std::vector<int32_t>> words;
  std::vector<int64_t> counts;
  for (auto& [w, c] : word_counts) {
    std::vector<int32_t> syms;
    for (size_t pos = 0; pos < w.size();) {
      const size_t s = pos;
      text::NextCodepoint(w, pos);
      syms.push_back(token_ids.at(w.substr(s, pos - s)));
    }
    words.push_back(std::move(syms));
    counts.push_back(c);
  }

  // 3. Pair statistics.
  std::unordered_map<uint64_t, int64_t> pair_count;
  std::unordered_map<uint64_t, std::unordered_set<int32_t>> where;
  const auto add_word = [&](int32_t w, int sign) {
    const auto& s = words[w];
    for (size_t i = 0; i + 1 < s.size(); ++i) {
      const uint64_t k = PairKey(s[i], s[i + 1]);
      pair_count[k] += sign * counts[w];
      if (sign > 0) where[k].insert(w);
    }
  };
  for (int32_t w = 0; w < static_cast<int32_t>(words.size()); ++w) add_word(w, +1);

  struct Cand {
    int64_t count;
    uint64_t key;
  };
  const auto worse = [&](const Cand& x, const Cand& y) {
    if (x.count != y.count) return x.count < y.count;
    const auto sx = std::make_pair(tokens[x.key >> 32], tokens[x.key & 0xffffffff]);
    const auto sy = std::make_pair(tokens[y.key >> 32], tokens[y.key & 0xffffffff]);
    return sx > sy;
  };
  std::priority_queue<Cand, std::vector<Cand>, decltype(worse)> heap(worse);
  for (auto& [k, c] : pair_count) heap.push({c, k});

  // 4. Merge until the vocabulary is full.
  nlohmann::json merges = nlohmann::json::array();
  const int planned = opt.vocab_size - n_special - 256;
  int done = 0;
  while (done < planned && !heap.empty()) {
    const Cand c = heap.top();
    heap.pop();
    const auto it = pair_count.find(c.key);
    if (it == pair_count.end() || it->second != c.count) {  // stale entry
      if (it != pair_count.end() && it->second > 0) heap.push({it->second, c.key});
      continue;
    }
    if (c.count < opt.min_frequency) break;
    const int32_t a = static_cast<int32_t>(c.key >> 32), b = static_cast<int32_t>(c.key & 0xffffffff);
    const std::string merged = tokens[a] + tokens[b];
    int32_t id;
    if (auto f = token_ids.find(merged); f != token_ids.end()) {
      id = f->second;
    } else {
      id = static_cast<int32_t>(tokens.size());
      tokens.push_back(merged);
      token_ids[merged] = id;
    }
    merges.push_back({tokens[a], tokens[b]});
    ++done;
    const auto affected = std::move(where[c.key]);
    where.erase(c.key);
    std::unordered_set<uint64_t> touched;
    for (int32_t w : affected) {
      add_word(w, -1);
      auto& s = words[w];
      std::vector<int32_t> next;
      next.reserve(s.size());
      for (size_t i = 0; i < s.size(); ++i) {
        if (i + 1 < s.size() && s[i] == a && s[i + 1] == b) {
          next.push_back(id);
          ++i;
        } else {
          next.push_back(s[i]);
        }
      }
      s = std::move(next);
      add_word(w, +1);
      for (size_t i = 0; i + 1 < s.size(); ++i) touched.insert(PairKey(s[i], s[i + 1]));
    }
    pair_count.erase(c.key);
    for (uint64_t k : touched)
      if (pair_count[k] > 0) heap.push({pair_count[k], k});
    if (opt.progress && done % 1000 == 0) opt.progress(done, planned);
  }

  // 5. Write tokenizer.json.
  nlohmann::json vocab = nlohmann::json::object();
  for (size_t i = 0; i < tokens.size(); ++i) vocab[tokens[i]] = i;
  nlohmann::json added = nlohmann::json::array();
  for (int i = 0; i < n_special; ++i) {
    const int32_t id = static_cast<int32_t>(tokens.size()) + i;
    added.push_back({{"id", id},
                     {"content", opt.special_tokens[i]},
                     {"single_word", false},
                     {"lstrip", false},
                     {"rstrip", false},
                     {"normalized", false},
                     {"special", true}});
  }
  nlohmann::json out = {{"version", "1.0"}, {"truncation", nullptr}, {"padding", nullptr}, {"added_tokens", added}};
  out["normalizer"] = pipeline["normalizer"];
  out["pre_tokenizer"] = pipeline["pre_tokenizer"];
  out["post_processor"] = {
      {"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  out["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false}, {"use_regex", false}};
  out["model"] = {{"type", "BPE"},
                  {"dropout", nullptr},
                  {"unk_token", nullptr},
                  {"continuing_subword_prefix", nullptr},
                  {"end_of_word_suffix", nullptr},
                  {"fuse_unk", false},
                  {"byte_fallback", false},
                  {"ignore_merges", false},
                  {"vocab", vocab},
                  {"merges", merges}};
  return out.dump(1);
}

std::vector<std::string> ReadCorpusLines(const std::vector<std::string>& paths) {
  std::vector<std::string> lines;
  for (const auto& path : paths) {
    const std::string text = util::ReadFile(path);
    size_t start = 0;
    while (start < text.size()) {
      size_t end = text.find('\n', start);
      if (end == std::string::npos) end = text.size();
      lines.push_back(text.substr(start, end - start + (end < text.size() ? 1 : 0)));
      start = end + 1;
    }
  }
  return lines;
}

}  // namespace prlm::pipeline
