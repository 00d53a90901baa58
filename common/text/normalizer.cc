#include "common/text/normalizer.h"

#include <nlohmann/json.hpp>

#include <functional>
#include <vector>

#include "common/text/regex.h"
#include "common/text/unicode.h"
#include "common/util/check.h"

namespace prlm::text {
namespace {

using Fn = std::function<std::string(std::string_view)>;

class FnNormalizer : public Normalizer {
 public:
  explicit FnNormalizer(Fn fn) : fn_(std::move(fn)) {}
  std::string Normalize(std::string_view text) const override { return fn_(text); }

 private:
  Fn fn_;
};

class SequenceNormalizer : public Normalizer {
 public:
  explicit SequenceNormalizer(std::vector<std::unique_ptr<Normalizer>> parts) : parts_(std::move(parts)) {}
  std::string Normalize(std::string_view text) const override {
    std::string s(text);
    for (const auto& p : parts_) s = p->Normalize(s);
    return s;
  }

 private:
  std::vector<std::unique_ptr<Normalizer>> parts_;
};

// BERT: drop control characters, map whitespace to ' ', pad CJK ideographs
// with spaces, optionally strip accents and lowercase.
std::string BertNormalize(std::string_view text, bool clean, bool cjk, bool strip, bool lower) {
  std::string out;
  out.reserve(text.size() + 8);
  for (size_t pos = 0; pos < text.size();) {
    const char32_t cp = NextCodepoint(text, pos);
    if (clean) {
      if (cp == 0 || cp == kReplacementChar || IsControl(cp)) continue;
      if (IsUnicodeWhitespace(cp)) {
        out.push_back(' ');
        continue;
      }
    }
    if (cjk && IsCjkIdeograph(cp)) {
      out.push_back(' ');
      AppendUtf8(out, cp);
      out.push_back(' ');
      continue;
    }
    AppendUtf8(out, cp);
  }
  if (strip) out = StripMarks(Nfd(out));
  if (lower) out = Lowercase(out);
  return out;
}

}  // namespace

std::unique_ptr<Normalizer> Normalizer::FromJson(const nlohmann::json& spec) {
  if (spec.is_null()) return nullptr;
  PRLM_REQUIRE(spec.is_object() && spec.contains("type"),
               "tokenizer.json: normalizer must be an object with a \"type\"");
  const std::string type = spec.at("type").get<std::string>();
  if (type == "Sequence") {
    std::vector<std::unique_ptr<Normalizer>> parts;
    for (const auto& p : spec.at("normalizers"))
      if (auto n = FromJson(p)) parts.push_back(std::move(n));
    return std::make_unique<SequenceNormalizer>(std::move(parts));
  }
  if (type == "NFC") return std::make_unique<FnNormalizer>(Nfc);
  if (type == "NFD") return std::make_unique<FnNormalizer>(Nfd);
  if (type == "NFKC") return std::make_unique<FnNormalizer>(Nfkc);
  if (type == "NFKD") return std::make_unique<FnNormalizer>(Nfkd);
  if (type == "Lowercase") return std::make_unique<FnNormalizer>(Lowercase);
  if (type == "StripAccents") return std::make_unique<FnNormalizer>([](std::string_view s) { return StripMarks(s); });
  if (type == "BertNormalizer") {
    const bool clean = spec.value("clean_text", true);
    const bool cjk = spec.value("handle_chinese_chars", true);
    const bool lower = spec.value("lowercase", true);
    // HF: strip_accents null means "follow lowercase".
    const bool strip =
        spec.contains("strip_accents") && !spec["strip_accents"].is_null() ? spec["strip_accents"].get<bool>() : lower;
    return std::make_unique<FnNormalizer>(
        [=](std::string_view s) { return BertNormalize(s, clean, cjk, strip, lower); });
  }
  if (type == "Prepend") {
    const std::string prefix = spec.at("prepend").get<std::string>();
    return std::make_unique<FnNormalizer>(
        [prefix](std::string_view s) { return s.empty() ? std::string() : prefix + std::string(s); });
  }
  if (type == "Replace") {
    const auto& pat = spec.at("pattern");
    const bool literal = pat.contains("String");
    auto re = std::make_shared<Regex>(
        literal ? pat.at("String").get<std::string>() : pat.at("Regex").get<std::string>(), literal);
    const std::string content = spec.at("content").get<std::string>();
    return std::make_unique<FnNormalizer>([re, content](std::string_view s) {
      std::string out;
      size_t last = 0;
      for (auto [b, e] : re->FindAll(s)) {
        out.append(s.substr(last, b - last));
        out += content;
        last = e;
      }
      out.append(s.substr(last));
      return out;
    });
  }
  PRLM_THROW("tokenizer.json: unsupported normalizer type '"
             << type
             << "' (supported: Sequence, NFC, NFD, NFKC, NFKD, Lowercase, "
                "StripAccents, BertNormalizer, Prepend, Replace)");
}

}  // namespace prlm::text
