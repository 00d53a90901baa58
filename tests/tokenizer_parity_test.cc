// Ids identical to Hugging Face's JavaScript tokenizers and to its Rust crate
// (what transformers uses), and decoded text identical to the JavaScript one, on
// real vocabularies: Qwen3, Llama-3, Llama-3.1 and DeepSeek-V3 byte-level BPE,
// Gemma-3 and Llama-2 SentencePiece-style BPE (byte fallback, "▁" for spaces),
// bert-base-uncased WordPiece, and a tokenizer trained by `prlm train-tokenizer`. The reference
// files are written by tests/reference/make_references.sh (a ctest fixture).
#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>

#include "common/text/tokenizer.h"
#include "common/text/unicode.h"

namespace prlm::text {
namespace {

std::vector<std::string> ReadLines(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  return lines;
}

class ParityTest : public ::testing::TestWithParam<std::string> {};

TEST_P(ParityTest, IdsAndDecodingMatchHuggingFace) {
  const std::string refs = PRLM_TEST_REFS;
  const std::string name = GetParam();
  ASSERT_TRUE(std::filesystem::exists(refs + "/" + name + ".ids.jsonl"))
      << "reference ids missing: run ctest (the make_tokenizer_references fixture)";
  const auto tok = Tokenizer::FromFile(refs + "/" + name + "/tokenizer.json");
  const bool special = name == "bert-uncased";
  const auto inputs = ReadLines(refs + "/input.txt");
  const auto ids = ReadLines(refs + "/" + name + ".ids.jsonl");
  const auto decoded = ReadLines(refs + "/" + name + ".decoded.jsonl");
  const auto rust_ids = ReadLines(refs + "/" + name + ".rust.ids.jsonl");
  ASSERT_EQ(inputs.size(), ids.size());
  ASSERT_EQ(inputs.size(), rust_ids.size());
  ASSERT_EQ(inputs.size(), decoded.size());
  int mismatches = 0;
  for (size_t i = 0; i < inputs.size(); ++i) {
    const auto expected = nlohmann::json::parse(ids[i]).get<std::vector<int32_t>>();
    const auto got = tok->Encode(inputs[i], special);
    const auto rust = nlohmann::json::parse(rust_ids[i]).get<std::vector<int32_t>>();
    if (got != expected || got != rust) ++mismatches;
    EXPECT_EQ(got, expected) << name << " line " << i + 1
                             << " vs JS: " << nlohmann::json(SanitizeUtf8(inputs[i])).dump();
    EXPECT_EQ(got, rust) << name << " line " << i + 1 << " vs Rust: " << nlohmann::json(SanitizeUtf8(inputs[i])).dump();
    EXPECT_EQ(tok->Decode(expected), nlohmann::json::parse(decoded[i]).get<std::string>())
        << name << " decode of line " << i + 1;
  }
  EXPECT_EQ(mismatches, 0);
}

INSTANTIATE_TEST_SUITE_P(Vocabularies, ParityTest,
                         ::testing::Values("qwen3", "llama3", "llama3_1", "deepseek_v3", "gemma3", "llama2",
                                           "bert-uncased", "trained"),
                         [](const auto& info) {
                           std::string n = info.param;
                           for (char& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

}  // namespace
}  // namespace prlm::text
