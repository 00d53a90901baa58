#include "pipeline/init_model.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include "common/model/pretrained.h"
#include "common/text/builtin_corpus.h"
#include "common/text/tokenizer.h"
#include "common/text/unicode.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "pipeline/bpe_trainer.h"

namespace prlm::pipeline {
namespace {

// Applies "key=value" overrides to a config's JSON; values parse as JSON
// (numbers, true/false), else as strings. Keys not in the config (nor in
// `optional_keys`, which a default config leaves out) are refused.
std::string ApplyOverrides(const std::string& json_text, const std::vector<std::string>& overrides,
                           const std::vector<std::string>& optional_keys = {}) {
  auto j = nlohmann::ordered_json::parse(json_text);
  for (const auto& o : overrides) {
    const size_t eq = o.find('=');
    PRLM_REQUIRE(eq != std::string::npos && eq > 0, "init-model: override '" << o << "' is not key=value");
    const std::string key = o.substr(0, eq), value = o.substr(eq + 1);
    if (!j.contains(key) && std::find(optional_keys.begin(), optional_keys.end(), key) == optional_keys.end()) {
      std::string valid;
      for (const auto& [k, v] : j.items()) valid += " " + k;
      for (const auto& k : optional_keys) valid += " " + k;
      PRLM_THROW("init-model: unknown config key '" << key << "'; valid keys:" << valid);
    }
    try {
      j[key] = nlohmann::json::parse(value);
    } catch (const nlohmann::json::parse_error&) {
      j[key] = value;
    }
  }
  return j.dump(2);
}

int64_t RoundUp(int64_t n, int64_t m) { return (n + m - 1) / m * m; }

}  // namespace

std::string BuiltinWordPieceTokenizer(int vocab_size) {
  std::map<std::string, int64_t> words;
  std::set<std::string> chars;
  for (const auto& line : text::BuiltinCorpus(4000, 7)) {
    const std::string lower = text::Lowercase(line);
    std::string cur;
    for (size_t pos = 0; pos <= lower.size();) {
      const size_t start = pos;
      const char32_t cp = pos < lower.size() ? text::NextCodepoint(lower, pos) : (++pos, U' ');
      if (cp < 0x80 && std::isalnum(static_cast<int>(cp))) {
        cur += static_cast<char>(cp);
        continue;
      }
      if (!cur.empty()) ++words[cur], cur.clear();
      if (!text::IsUnicodeWhitespace(cp)) chars.insert(lower.substr(start, pos - start));
    }
  }
  nlohmann::ordered_json vocab;
  int id = 0;
  for (const char* s : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"}) vocab[s] = id++;
  for (char c = 'a'; c <= 'z'; ++c) chars.insert(std::string(1, c));
  for (char c = '0'; c <= '9'; ++c) chars.insert(std::string(1, c));
  for (const auto& c : chars) vocab[c] = id++, vocab["##" + c] = id++;
  std::vector<std::pair<int64_t, std::string>> by_freq;
  for (const auto& [w, n] : words)
    if (w.size() > 1) by_freq.emplace_back(-n, w);
  std::sort(by_freq.begin(), by_freq.end());
  for (const auto& [n, w] : by_freq) {
    if (id >= vocab_size) break;
    vocab[w] = id++;
  }
  nlohmann::ordered_json tok;
  tok["version"] = "1.0";
  tok["added_tokens"] = nlohmann::json::array();
  int special_id = 0;
  for (const char* s : {"[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"})
    tok["added_tokens"].push_back({{"id", special_id++},
                                   {"content", s},
                                   {"single_word", false},
                                   {"lstrip", false},
                                   {"rstrip", false},
                                   {"normalized", false},
                                   {"special", true}});
  tok["normalizer"] = {{"type", "BertNormalizer"},
                       {"clean_text", true},
                       {"handle_chinese_chars", true},
                       {"strip_accents", nullptr},
                       {"lowercase", true}};
  tok["pre_tokenizer"] = {{"type", "BertPreTokenizer"}};
  tok["post_processor"] = {{"type", "BertProcessing"}, {"sep", {"[SEP]", 3}}, {"cls", {"[CLS]", 2}}};
  tok["decoder"] = {{"type", "WordPiece"}, {"prefix", "##"}, {"cleanup", true}};
  tok["model"] = {{"type", "WordPiece"},
                  {"unk_token", "[UNK]"},
                  {"continuing_subword_prefix", "##"},
                  {"max_input_chars_per_word", 100},
                  {"vocab", vocab}};
  return tok.dump();
}

void WriteTokenizerConfig(const std::string& dir, bool wordpiece) {
  nlohmann::ordered_json j;
  j["clean_up_tokenization_spaces"] = wordpiece;
  j["model_max_length"] = wordpiece ? 512 : 32768;
  if (wordpiece) {
    j["tokenizer_class"] = "BertTokenizer";
    j["do_lower_case"] = true;
    j["cls_token"] = "[CLS]", j["sep_token"] = "[SEP]", j["pad_token"] = "[PAD]";
    j["unk_token"] = "[UNK]", j["mask_token"] = "[MASK]";
  } else {
    j["tokenizer_class"] = "Qwen2Tokenizer";
    j["eos_token"] = "<|im_end|>", j["pad_token"] = "<|endoftext|>";
  }
  util::WriteFileAtomic(dir + "/tokenizer_config.json", j.dump(2) + "\n");
}

int64_t InitModelDir(const InitModelSpec& spec) {
  std::filesystem::create_directories(spec.out_dir);
  const std::string tok_path = spec.out_dir + "/tokenizer.json";
  // 1. The tokenizer: given, or made from the built-in corpus.
  if (!spec.tokenizer.empty()) {
    text::Tokenizer::FromFile(spec.tokenizer);  // validate before copying
    if (std::filesystem::absolute(spec.tokenizer) != std::filesystem::absolute(tok_path))
      util::WriteFileAtomic(tok_path, util::ReadFile(spec.tokenizer));
  } else if (spec.arch == "bert") {
    util::WriteFileAtomic(tok_path, BuiltinWordPieceTokenizer(spec.tokenizer_vocab_size));
  } else {
    pipeline::BpeTrainerOptions opt;
    opt.vocab_size = spec.tokenizer_vocab_size;
    util::WriteFileAtomic(tok_path, pipeline::TrainByteLevelBpe(text::BuiltinCorpus(4000, 7), opt));
  }
  const std::string given_config =
      std::filesystem::path(spec.tokenizer).parent_path().string() + "/tokenizer_config.json";
  if (!spec.tokenizer.empty() && std::filesystem::exists(given_config)) {
    if (std::filesystem::absolute(given_config) != std::filesystem::absolute(spec.out_dir + "/tokenizer_config.json"))
      util::WriteFileAtomic(spec.out_dir + "/tokenizer_config.json", util::ReadFile(given_config));
  } else {
    WriteTokenizerConfig(spec.out_dir, spec.arch == "bert");
  }
  const auto tok = text::Tokenizer::FromFile(tok_path);
  const int64_t vocab = RoundUp(tok->vocab_size(), 64);

  // 2. The config: preset + overrides, validated by the config parser.
  torch::manual_seed(spec.seed);
  if (spec.arch == "qwen2" || spec.arch == "qwen3" || spec.arch == "llama") {
    // One decoder; the architecture's differences are config fields.
    auto cfg = model::DecoderPreset(spec.preset, vocab);
    cfg.model_type = spec.arch;
    cfg.attention_bias = spec.arch == "qwen2";
    cfg.qk_norm = spec.arch == "qwen3";
    if (spec.arch == "qwen3") cfg.explicit_head_dim = cfg.head_dim();
    for (const char* eos : {"<|im_end|>", "<|endoftext|>"})
      if (auto id = tok->TokenToId(eos)) cfg.eos_token_ids.push_back(*id);
    cfg = model::DecoderConfig::FromJsonText(ApplyOverrides(cfg.ToJson(), spec.overrides), "init-model overrides");
    PRLM_REQUIRE(cfg.vocab_size >= tok->vocab_size(), "init-model: vocab_size " << cfg.vocab_size
                                                                                << " is smaller than the tokenizer's "
                                                                                << tok->vocab_size());
    model::CausalLM m(cfg);
    model::InitializeWeights(*m, cfg.initializer_range, spec.seed);
    model::SaveCausalLM(m, spec.out_dir);
    return model::CountParameters(*m);
  }
  if (spec.arch == "bert") {
    auto cfg = model::BertPreset(spec.preset, vocab);
    if (auto pad = tok->TokenToId("[PAD]")) cfg.pad_token_id = *pad;
    cfg = model::BertConfig::FromJsonText(
        ApplyOverrides(cfg.ToJson(), spec.overrides, {"num_labels", "classifier_dropout"}), "init-model overrides");
    model::BertEncoder m(cfg);
    model::InitializeWeights(*m, cfg.initializer_range, spec.seed);
    model::SaveBert(m, spec.out_dir);
    return model::CountParameters(*m);
  }
  PRLM_THROW("init-model: unknown --arch '" << spec.arch << "' (expected qwen2, qwen3, llama or bert)");
}

}  // namespace prlm::pipeline
