#include "common/text/pre_tokenizer.h"

#include <nlohmann/json.hpp>

#include <functional>

#include "common/text/byte_level.h"
#include "common/text/regex.h"
#include "common/text/unicode.h"
#include "common/util/check.h"

namespace prlm::text {

const char* const kQwen2SplitPattern =
    R"((?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*|\s*[\r\n]+|\s+(?!\S)|\s+)";

namespace {

const char* const kGpt2SplitPattern = R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

enum class Behavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

Behavior ParseBehavior(const std::string& s) {
  if (s == "Removed") return Behavior::kRemoved;
  if (s == "Isolated") return Behavior::kIsolated;
  if (s == "MergedWithPrevious") return Behavior::kMergedWithPrevious;
  if (s == "MergedWithNext") return Behavior::kMergedWithNext;
  if (s == "Contiguous") return Behavior::kContiguous;
  PRLM_THROW("tokenizer.json: unknown split behavior '" << s
                                                        << "' (expected Removed, Isolated, MergedWithPrevious, "
                                                           "MergedWithNext or Contiguous)");
}

// Splits one piece around the matched ranges, as HF's SplitDelimiterBehavior.
void SplitPiece(const std::string& piece, std::vector<std::pair<size_t, size_t>> matches, Behavior behavior,
                bool invert, std::vector<std::string>& out) {
  // Segments alternate between "delimiter" (matched, unless inverted) and text.
  struct Seg {
    size_t b, e;
    bool delim;
  };
  std::vector<Seg> segs;
  size_t last = 0;
  for (auto [b, e] : matches) {
    if (b > last) segs.push_back({last, b, invert});
    segs.push_back({b, e, !invert});
    last = e;
  }
  if (last < piece.size()) segs.push_back({last, piece.size(), invert});

  std::vector<std::pair<size_t, size_t>> result;
  bool prev_delim = false;
  for (size_t i = 0; i < segs.size(); ++i) {
    const Seg& s = segs[i];
    switch (behavior) {
      case Behavior::kRemoved:
        if (!s.delim) result.emplace_back(s.b, s.e);
        break;
      case Behavior::kIsolated:
        result.emplace_back(s.b, s.e);
        break;
      case Behavior::kMergedWithPrevious:
        if (s.delim && !result.empty() && !prev_delim)
          result.back().second = s.e;
        else
          result.emplace_back(s.b, s.e);
        break;
      case Behavior::kMergedWithNext:
        if (!s.delim && prev_delim && !result.empty())
          result.back().second = s.e;
        else
          result.emplace_back(s.b, s.e);
        break;
      case Behavior::kContiguous:
        if (s.delim && prev_delim && !result.empty())
          result.back().second = s.e;
        else
          result.emplace_back(s.b, s.e);
        break;
    }
    prev_delim = s.delim;
  }
  for (auto [b, e] : result)
    if (e > b) out.push_back(piece.substr(b, e - b));
}

class SplitPreTokenizer : public PreTokenizer {
 public:
  SplitPreTokenizer(const std::string& pattern, bool literal, Behavior behavior, bool invert)
      : re_(pattern, literal), behavior_(behavior), invert_(invert) {}
  void PreTokenize(std::vector<std::string>& pieces) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size() * 2);
    for (const auto& p : pieces) SplitPiece(p, re_.FindAll(p), behavior_, invert_, out);
    pieces = std::move(out);
  }

 private:
  Regex re_;
  Behavior behavior_;
  bool invert_;
};

class ByteLevelPreTokenizer : public PreTokenizer {
 public:
  ByteLevelPreTokenizer(bool add_prefix_space, bool use_regex) : add_prefix_space_(add_prefix_space) {
    if (use_regex) split_ = std::make_unique<Regex>(kGpt2SplitPattern);
  }
  bool IsByteLevel() const override { return true; }
  void PreTokenize(std::vector<std::string>& pieces) const override {
    std::vector<std::string> out;
    out.reserve(pieces.size());
    for (auto& p : pieces) {
      if (add_prefix_space_ && !p.empty() && p[0] != ' ') p.insert(p.begin(), ' ');
      if (split_) {
        std::vector<std::string> parts;
        SplitPiece(p, split_->FindAll(p), Behavior::kIsolated, false, parts);
        for (auto& part : parts) out.push_back(BytesToChars(part));
      } else {
        out.push_back(BytesToChars(p));
      }
    }
    pieces = std::move(out);
  }

 private:
  bool add_prefix_space_;
  std::unique_ptr<Regex> split_;
};

// Splits each piece by a per-code-point classifier: characters of class 0 are
// removed, class 1 are kept in runs, class 2 stand alone.
class CharClassPreTokenizer : public PreTokenizer {
 public:
  explicit CharClassPreTokenizer(std::function<int(char32_t)> cls) : cls_(std::move(cls)) {}
  void PreTokenize(std::vector<std::string>& pieces) const override {
    std::vector<std::string> out;
    for (const auto& p : pieces) {
      std::string cur;
      for (size_t pos = 0; pos < p.size();) {
        const size_t start = pos;
        const char32_t cp = NextCodepoint(p, pos);
        const int c = cls_(cp);
        if (c == 1) {
          cur.append(p, start, pos - start);
          continue;
        }
        if (!cur.empty()) out.push_back(std::move(cur)), cur.clear();
        if (c == 2) out.push_back(p.substr(start, pos - start));
      }
      if (!cur.empty()) out.push_back(std::move(cur));
    }
    pieces = std::move(out);
  }

 private:
  std::function<int(char32_t)> cls_;
};

class SequencePreTokenizer : public PreTokenizer {
 public:
  explicit SequencePreTokenizer(std::vector<std::unique_ptr<PreTokenizer>> parts) : parts_(std::move(parts)) {}
  bool IsByteLevel() const override {
    for (const auto& p : parts_)
      if (p->IsByteLevel()) return true;
    return false;
  }
  void PreTokenize(std::vector<std::string>& pieces) const override {
    for (const auto& p : parts_) p->PreTokenize(pieces);
  }

 private:
  std::vector<std::unique_ptr<PreTokenizer>> parts_;
};

bool IsBertPunctuation(char32_t cp) {
  return (cp >= 33 && cp <= 47) || (cp >= 58 && cp <= 64) || (cp >= 91 && cp <= 96) || (cp >= 123 && cp <= 126) ||
         IsUnicodePunctuation(cp);
}

}  // namespace

std::unique_ptr<PreTokenizer> PreTokenizer::FromJson(const nlohmann::json& spec) {
  if (spec.is_null()) return nullptr;
  PRLM_REQUIRE(spec.is_object() && spec.contains("type"),
               "tokenizer.json: pre_tokenizer must be an object with a \"type\"");
  const std::string type = spec.at("type").get<std::string>();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<PreTokenizer>> parts;
    for (const auto& p : spec.at("pretokenizers"))
      if (auto t = FromJson(p)) parts.push_back(std::move(t));
    return std::make_unique<SequencePreTokenizer>(std::move(parts));
  }
  if (type == "Split") {
    const auto& pat = spec.at("pattern");
    const bool literal = pat.contains("String");
    return std::make_unique<SplitPreTokenizer>(
        literal ? pat.at("String").get<std::string>() : pat.at("Regex").get<std::string>(), literal,
        ParseBehavior(spec.at("behavior").get<std::string>()), spec.value("invert", false));
  }
  if (type == "ByteLevel")
    return std::make_unique<ByteLevelPreTokenizer>(spec.value("add_prefix_space", true), spec.value("use_regex", true));
  if (type == "BertPreTokenizer")
    return std::make_unique<CharClassPreTokenizer>([](char32_t cp) {
      if (IsUnicodeWhitespace(cp)) return 0;
      return IsBertPunctuation(cp) ? 2 : 1;
    });
  if (type == "WhitespaceSplit")
    return std::make_unique<CharClassPreTokenizer>([](char32_t cp) { return IsUnicodeWhitespace(cp) ? 0 : 1; });
  if (type == "Whitespace")
    return std::make_unique<SplitPreTokenizer>(R"(\w+|[^\w\s]+)", false, Behavior::kRemoved, true);
  if (type == "Digits") {
    const bool individual = spec.value("individual_digits", false);
    return std::make_unique<SplitPreTokenizer>(individual ? R"(\p{N})" : R"(\p{N}+)", false, Behavior::kIsolated,
                                               false);
  }
  if (type == "Punctuation")
    return std::make_unique<SplitPreTokenizer>(R"([\p{P}!-/:-@\[-`{-~])", false,
                                               ParseBehavior(spec.value("behavior", std::string("Isolated"))), false);
  PRLM_THROW("tokenizer.json: unsupported pre_tokenizer type '"
             << type
             << "' (supported: Sequence, Split, ByteLevel, BertPreTokenizer, "
                "Whitespace, WhitespaceSplit, Digits, Punctuation)");
}

}  // namespace prlm::text
