#include "common/text/tokenizer.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <optional>
#include <filesystem>
#include <unordered_map>

#include "common/text/byte_level.h"
#include "common/text/normalizer.h"
#include "common/text/pre_tokenizer.h"
#include "common/text/token_model.h"
#include "common/text/unicode.h"
#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::text {
namespace {

struct AddedToken {
  std::string content;
  int32_t id;
  bool special, lstrip, rstrip, single_word;
};

// One element of a post-processor template: a fixed token or a sequence slot.
struct TemplateItem {
  bool is_sequence;
  int sequence;              // 0 = A, 1 = B (is_sequence)
  std::vector<int32_t> ids;  // special token ids (!is_sequence)
  int32_t type_id;
};

enum class DecoderKind { kByteLevel, kWordPiece, kConcat };

// The decoders SentencePiece-style tokenizers chain after the model's
// tokens (Llama-2, Gemma): Hugging Face's decoders of the same names, each
// mapping the list of token strings to a new list.
struct PieceDecoder {
  enum Kind { kReplace, kByteFallback, kFuse, kStrip } kind;
  std::string from, to;  // kReplace
  std::string strip;     // kStrip: the character stripped
  size_t strip_start = 0, strip_stop = 0;
};

// "<0x41>" -> 0x41; nullopt for anything else.
std::optional<uint8_t> ByteToken(std::string_view t) {
  if (t.size() != 6 || t.substr(0, 3) != "<0x" || t[5] != '>') return std::nullopt;
  unsigned v = 0;
  for (char c : t.substr(3, 2)) {
    if (!std::isxdigit(static_cast<unsigned char>(c))) return std::nullopt;
    v = v * 16 +
        static_cast<unsigned>(std::isdigit(static_cast<unsigned char>(c)) ? c - '0' : (std::tolower(c) - 'a' + 10));
  }
  return static_cast<uint8_t>(v);
}

void ApplyPieceDecoder(const PieceDecoder& d, std::vector<std::string>& tokens) {
  switch (d.kind) {
    case PieceDecoder::kReplace:
      for (auto& t : tokens)
        for (size_t p = t.find(d.from); !d.from.empty() && p != std::string::npos; p = t.find(d.from, p + d.to.size()))
          t.replace(p, d.from.size(), d.to);
      return;
    case PieceDecoder::kByteFallback: {
      // Runs of <0xNN> become their bytes when those are valid UTF-8, else
      // one U+FFFD per byte (as Hugging Face does).
      std::vector<std::string> out;
      std::string bytes;
      size_t count = 0;
      const auto flush = [&] {
        if (count == 0) return;
        if (SanitizeUtf8(bytes) == bytes) {
          out.push_back(bytes);
        } else {
          for (size_t i = 0; i < count; ++i) out.push_back("\xEF\xBF\xBD");
        }
        bytes.clear();
        count = 0;
      };
      for (auto& t : tokens) {
        if (const auto b = ByteToken(t)) {
          bytes.push_back(static_cast<char>(*b));
          ++count;
          continue;
        }
        flush();
        out.push_back(std::move(t));
      }
      flush();
      tokens = std::move(out);
      return;
    }
    case PieceDecoder::kFuse: {
      std::string all;
      for (const auto& t : tokens) all += t;
      tokens = {all};
      return;
    }
    case PieceDecoder::kStrip:
      for (auto& t : tokens) {
        for (size_t i = 0; i < d.strip_start && t.rfind(d.strip, 0) == 0; ++i) t.erase(0, d.strip.size());
        for (size_t i = 0; i < d.strip_stop && t.size() >= d.strip.size() &&
                           t.compare(t.size() - d.strip.size(), d.strip.size(), d.strip) == 0;
             ++i)
          t.erase(t.size() - d.strip.size());
      }
      return;
  }
}

bool IsWordChar(char32_t cp) {
  return cp == '_' ||
         (cp < 0x80 ? std::isalnum(static_cast<int>(cp)) != 0 : !IsUnicodeWhitespace(cp) && !IsUnicodePunctuation(cp));
}

// The code point that ends just before byte offset `end`. REQUIRES: end > 0.
char32_t PrevCodepoint(std::string_view s, size_t end) {
  size_t start = end - 1;
  while (start > 0 && (static_cast<uint8_t>(s[start]) & 0xC0) == 0x80) --start;
  return NextCodepoint(s, start);
}

// No space before punctuation and in common English contractions: the
// "cleanup" of Hugging Face's WordPiece decoder and of transformers' decode.
void CleanUpTokenizationSpaces(std::string& s) {
  static const std::pair<std::string_view, std::string_view> kRules[] = {
      {" .", "."},     {" ?", "?"},   {" !", "!"},   {" ,", ","},     {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"}};
  for (const auto& [from, to] : kRules)
    for (size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
      s.replace(p, from.size(), to);
}

}  // namespace

struct Tokenizer::Impl {
  std::string source;
  std::vector<AddedToken> added;
  std::unordered_map<int32_t, size_t> added_by_id;
  std::vector<std::vector<size_t>> added_by_first_byte = std::vector<std::vector<size_t>>(256);
  std::unique_ptr<Normalizer> normalizer;
  std::unique_ptr<PreTokenizer> pre_tokenizer;
  std::unique_ptr<TokenModel> model;
  std::vector<TemplateItem> single_template, pair_template;
  DecoderKind decoder = DecoderKind::kConcat;
  std::vector<PieceDecoder> piece_decoders;  // after `decoder`, in order
  std::string wordpiece_prefix = "##";
  bool wordpiece_cleanup = true;
  bool clean_up_tokenization_spaces = false;

  void ParsePostProcessor(const nlohmann::json& spec);
  void ParseDecoder(const nlohmann::json& spec);
  void EncodeText(std::string_view text, std::vector<int32_t>& out) const;
  std::vector<int32_t> SpecialIds(const nlohmann::json& spec, const std::string& name) const;
};

Tokenizer::Tokenizer() : impl_(new Impl) {}
Tokenizer::~Tokenizer() = default;

std::shared_ptr<const Tokenizer> Tokenizer::FromFile(const std::string& path) {
  bool cleanup = true;  // transformers' default
  const auto config = std::filesystem::path(path).parent_path() / "tokenizer_config.json";
  if (std::filesystem::exists(config)) {
    try {
      const auto j = nlohmann::json::parse(util::ReadFile(config.string()));
      if (j.contains("clean_up_tokenization_spaces") && j["clean_up_tokenization_spaces"].is_boolean())
        cleanup = j["clean_up_tokenization_spaces"].get<bool>();
    } catch (const nlohmann::json::exception& e) {
      PRLM_THROW("tokenizer config '" << config.string() << "' is not valid JSON: " << e.what());
    }
  }
  return FromJsonText(util::ReadFile(path), path, cleanup);
}

std::shared_ptr<const Tokenizer> Tokenizer::FromJsonText(std::string_view text, const std::string& source,
                                                         bool clean_up_tokenization_spaces) {
  std::shared_ptr<Tokenizer> tok(new Tokenizer);
  Impl& m = *tok->impl_;
  m.source = source;
  m.clean_up_tokenization_spaces = clean_up_tokenization_spaces;
  try {
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      PRLM_THROW("not valid JSON: " << e.what());
    }
    PRLM_REQUIRE(j.is_object() && j.contains("model"), "no \"model\" section");
    m.model = TokenModel::FromJson(j["model"]);
    m.normalizer = Normalizer::FromJson(j.value("normalizer", nlohmann::json()));
    m.pre_tokenizer = PreTokenizer::FromJson(j.value("pre_tokenizer", nlohmann::json()));
    if (j.contains("added_tokens")) {
      for (const auto& t : j["added_tokens"]) {
        AddedToken a{t.at("content").get<std::string>(), t.at("id").get<int32_t>(), t.value("special", false),
                     t.value("lstrip", false),           t.value("rstrip", false),  t.value("single_word", false)};
        PRLM_REQUIRE(!a.content.empty(), "added token " << a.id << " is empty");
        m.added_by_id[a.id] = m.added.size();
        m.added_by_first_byte[static_cast<uint8_t>(a.content[0])].push_back(m.added.size());
        m.added.push_back(std::move(a));
      }
      for (auto& bucket : m.added_by_first_byte)  // longest first
        std::sort(bucket.begin(), bucket.end(),
                  [&](size_t x, size_t y) { return m.added[x].content.size() > m.added[y].content.size(); });
    }
    m.ParsePostProcessor(j.value("post_processor", nlohmann::json()));
    m.ParseDecoder(j.value("decoder", nlohmann::json()));
  } catch (const nlohmann::json::exception& e) {
    PRLM_THROW("tokenizer '" << source << "': malformed field: " << e.what());
  } catch (const util::Error& e) {
    PRLM_THROW("tokenizer '" << source << "': " << e.what());
  }
  return tok;
}

std::vector<int32_t> Tokenizer::Impl::SpecialIds(const nlohmann::json& specials, const std::string& name) const {
  if (specials.contains(name)) return specials[name].at("ids").get<std::vector<int32_t>>();
  // Fall back to a token of that name (some files omit the special_tokens map).
  for (const auto& a : added)
    if (a.content == name) return {a.id};
  if (auto id = model->vocab().Find(name)) return {*id};
  PRLM_THROW("post_processor: special token '" << name << "' is not defined");
}

void Tokenizer::Impl::ParsePostProcessor(const nlohmann::json& spec) {
  if (spec.is_null()) return;
  const std::string type = spec.at("type").get<std::string>();
  if (type == "Sequence") {
    for (const auto& p : spec.at("processors")) ParsePostProcessor(p);
    return;
  }
  if (type == "ByteLevel") return;  // only adjusts offsets
  if (type == "TemplateProcessing") {
    const auto& specials = spec.value("special_tokens", nlohmann::json::object());
    const auto parse = [&](const nlohmann::json& items) {
      std::vector<TemplateItem> out;
      for (const auto& it : items) {
        if (it.contains("Sequence")) {
          const auto& s = it["Sequence"];
          out.push_back({true, s.at("id").get<std::string>() == "B" ? 1 : 0, {}, s.value("type_id", 0)});
        } else {
          const auto& s = it.at("SpecialToken");
          out.push_back({false, 0, SpecialIds(specials, s.at("id").get<std::string>()), s.value("type_id", 0)});
        }
      }
      return out;
    };
    single_template = parse(spec.at("single"));
    pair_template = parse(spec.at("pair"));
    return;
  }
  if (type == "BertProcessing" || type == "RobertaProcessing") {
    const int32_t cls = spec.at("cls")[1].get<int32_t>(), sep = spec.at("sep")[1].get<int32_t>();
    const bool roberta = type == "RobertaProcessing";
    single_template = {{false, 0, {cls}, 0}, {true, 0, {}, 0}, {false, 0, {sep}, 0}};
    pair_template = single_template;
    if (roberta) pair_template.push_back({false, 0, {sep}, 0});
    pair_template.push_back({true, 1, {}, roberta ? 0 : 1});
    pair_template.push_back({false, 0, {sep}, roberta ? 0 : 1});
    return;
  }
  PRLM_THROW("unsupported post_processor type '" << type
                                                 << "' (supported: TemplateProcessing, BertProcessing, "
                                                    "RobertaProcessing, ByteLevel, Sequence)");
}

void Tokenizer::Impl::ParseDecoder(const nlohmann::json& spec) {
  if (spec.is_null()) {
    if (pre_tokenizer && pre_tokenizer->IsByteLevel()) decoder = DecoderKind::kByteLevel;
    return;
  }
  const std::string type = spec.at("type").get<std::string>();
  if (type == "ByteLevel") {
    decoder = DecoderKind::kByteLevel;
  } else if (type == "WordPiece") {
    decoder = DecoderKind::kWordPiece;
    wordpiece_prefix = spec.value("prefix", std::string("##"));
    wordpiece_cleanup = spec.value("cleanup", true);
  } else if (type == "Sequence") {
    for (const auto& d : spec.at("decoders")) ParseDecoder(d);
  } else if (type == "Replace") {
    const auto& pattern = spec.at("pattern");
    PRLM_REQUIRE(pattern.contains("String"),
                 "decoder Replace: only a String pattern is supported, got " << pattern.dump());
    piece_decoders.push_back({PieceDecoder::kReplace, pattern.at("String").get<std::string>(),
                              spec.at("content").get<std::string>(), "", 0, 0});
  } else if (type == "ByteFallback") {
    piece_decoders.push_back({PieceDecoder::kByteFallback, "", "", "", 0, 0});
  } else if (type == "Fuse") {
    piece_decoders.push_back({PieceDecoder::kFuse, "", "", "", 0, 0});
  } else if (type == "Strip") {
    piece_decoders.push_back({PieceDecoder::kStrip, "", "", spec.at("content").get<std::string>(),
                              spec.value("start", size_t{0}), spec.value("stop", size_t{0})});
  } else {
    PRLM_THROW("unsupported decoder type '" << type
                                            << "' (supported: ByteLevel, WordPiece, Replace, ByteFallback, Fuse, "
                                               "Strip, Sequence)");
  }
}

void Tokenizer::Impl::EncodeText(std::string_view raw, std::vector<int32_t>& out) const {
  const std::string text = SanitizeUtf8(raw);
  const auto encode_plain = [&](std::string_view s) {
    if (s.empty()) return;
    std::vector<std::string> pieces{normalizer ? normalizer->Normalize(s) : std::string(s)};
    if (pre_tokenizer) pre_tokenizer->PreTokenize(pieces);
    for (const auto& p : pieces) model->Tokenize(p, out);
  };
  // 1. Split out added tokens (leftmost, then longest), honouring lstrip /
  //    rstrip / single_word; the text between them goes through the pipeline.
  size_t plain_start = 0, pos = 0;
  while (pos < text.size()) {
    const AddedToken* hit = nullptr;
    for (size_t idx : added_by_first_byte[static_cast<uint8_t>(text[pos])]) {
      const AddedToken& a = added[idx];
      if (text.compare(pos, a.content.size(), a.content) != 0) continue;
      if (a.single_word) {
        // Only a whole word: no word character right before or after it.
        size_t after_pos = pos + a.content.size();
        const bool after = after_pos < text.size() && IsWordChar(NextCodepoint(text, after_pos));
        if (after || (pos > 0 && IsWordChar(PrevCodepoint(text, pos)))) continue;
      }
      hit = &a;
      break;
    }
    if (!hit) {
      ++pos;
      continue;
    }
    size_t left = pos, right = pos + hit->content.size();
    if (hit->lstrip)
      while (left > plain_start && std::isspace(static_cast<unsigned char>(text[left - 1]))) --left;
    if (hit->rstrip)
      while (right < text.size() && std::isspace(static_cast<unsigned char>(text[right]))) ++right;
    encode_plain(std::string_view(text).substr(plain_start, left - plain_start));
    out.push_back(hit->id);
    plain_start = pos = right;
  }
  encode_plain(std::string_view(text).substr(plain_start));
}

Encoding Tokenizer::EncodeWithTypes(std::string_view text, bool add_special_tokens) const {
  Encoding enc;
  impl_->EncodeText(text, enc.ids);
  if (add_special_tokens && !impl_->single_template.empty()) {
    Encoding full;
    for (const auto& it : impl_->single_template) {
      const auto& ids = it.is_sequence ? enc.ids : it.ids;
      full.ids.insert(full.ids.end(), ids.begin(), ids.end());
      full.type_ids.insert(full.type_ids.end(), ids.size(), it.type_id);
    }
    return full;
  }
  enc.type_ids.assign(enc.ids.size(), 0);
  return enc;
}

std::vector<int32_t> Tokenizer::Encode(std::string_view text, bool add_special_tokens) const {
  return EncodeWithTypes(text, add_special_tokens).ids;
}

Encoding Tokenizer::EncodePair(std::string_view a, std::string_view b, bool add_special_tokens,
                               size_t max_length) const {
  std::vector<int32_t> seq[2];
  impl_->EncodeText(a, seq[0]);
  impl_->EncodeText(b, seq[1]);
  const bool templated = add_special_tokens && !impl_->pair_template.empty();
  if (max_length > 0) {
    size_t specials = 0;
    if (templated)
      for (const auto& it : impl_->pair_template)
        if (!it.is_sequence) specials += it.ids.size();
    const size_t budget = max_length > specials ? max_length - specials : 0;
    size_t n0 = seq[0].size(), n1 = seq[1].size();
    if (n0 + n1 > budget) {
      // Removing from the longer side one at a time (the second on ties)
      // leaves the shorter whole if it fits in its half, else both near half.
      if (n0 > n1) {
        n1 = std::min(n1, budget / 2);
        n0 = budget - n1;
      } else {
        n0 = std::min(n0, (budget + 1) / 2);
        n1 = budget - n0;
      }
      seq[0].resize(n0);
      seq[1].resize(n1);
    }
  }
  Encoding out;
  if (!templated) {
    for (int s = 0; s < 2; ++s) {
      out.ids.insert(out.ids.end(), seq[s].begin(), seq[s].end());
      out.type_ids.insert(out.type_ids.end(), seq[s].size(), s);
    }
    return out;
  }
  for (const auto& it : impl_->pair_template) {
    const auto& ids = it.is_sequence ? seq[it.sequence] : it.ids;
    out.ids.insert(out.ids.end(), ids.begin(), ids.end());
    out.type_ids.insert(out.type_ids.end(), ids.size(), it.type_id);
  }
  return out;
}

std::string Tokenizer::Decode(std::span<const int32_t> ids, bool skip_special_tokens) const {
  const Impl& m = *impl_;
  if (!m.piece_decoders.empty()) {
    // SentencePiece style: the token strings through the decoder chain.
    std::vector<std::string> tokens;
    for (int32_t id : ids) {
      const auto added = m.added_by_id.find(id);
      const bool is_added = added != m.added_by_id.end();
      if (is_added && skip_special_tokens && m.added[added->second].special) continue;
      std::string tok = is_added ? m.added[added->second].content : m.model->vocab().Token(id);
      if (!tok.empty()) tokens.push_back(std::move(tok));
    }
    for (const auto& d : m.piece_decoders) ApplyPieceDecoder(d, tokens);
    std::string out;
    for (const auto& t : tokens) out += t;
    if (m.clean_up_tokenization_spaces) CleanUpTokenizationSpaces(out);
    return SanitizeUtf8(out);
  }
  std::string out;
  bool first = true;
  for (int32_t id : ids) {
    const auto added = m.added_by_id.find(id);
    const bool is_added = added != m.added_by_id.end();
    if (is_added && skip_special_tokens && m.added[added->second].special) continue;
    const std::string& tok = is_added ? m.added[added->second].content : m.model->vocab().Token(id);
    if (tok.empty()) continue;  // unknown id: nothing to print
    switch (m.decoder) {
      case DecoderKind::kByteLevel:
        out += is_added ? tok : CharsToBytes(tok);
        break;
      case DecoderKind::kWordPiece:
        if (!first && !is_added && tok.rfind(m.wordpiece_prefix, 0) == 0) {
          out += tok.substr(m.wordpiece_prefix.size());
        } else {
          if (!first) out += ' ';
          out += tok;
        }
        break;
      case DecoderKind::kConcat:
        out += tok;
        break;
    }
    first = false;
  }
  if ((m.decoder == DecoderKind::kWordPiece && m.wordpiece_cleanup) || m.clean_up_tokenization_spaces)
    CleanUpTokenizationSpaces(out);
  return SanitizeUtf8(out);
}

std::optional<int32_t> Tokenizer::TokenToId(std::string_view token) const {
  for (const auto& a : impl_->added)
    if (a.content == token) return a.id;
  return impl_->model->vocab().Find(token);
}

std::string Tokenizer::IdToToken(int32_t id) const {
  const auto it = impl_->added_by_id.find(id);
  if (it != impl_->added_by_id.end()) return impl_->added[it->second].content;
  return impl_->model->vocab().Token(id);
}

bool Tokenizer::IsSpecial(int32_t id) const {
  const auto it = impl_->added_by_id.find(id);
  return it != impl_->added_by_id.end() && impl_->added[it->second].special;
}

int32_t Tokenizer::vocab_size() const {
  int32_t n = impl_->model->vocab().end_id();
  for (const auto& a : impl_->added) n = std::max(n, a.id + 1);
  return n;
}

const std::string& Tokenizer::source() const { return impl_->source; }

}  // namespace prlm::text
