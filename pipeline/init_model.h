// Creating a randomly initialised model directory (config.json,
// model.safetensors, tokenizer.json), shared by `prlm init-model`, the demo
// and the benchmarks.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace prlm::pipeline {

struct InitModelSpec {
  std::string arch = "qwen2";          // qwen2 | qwen3 | llama | bert
  std::string preset = "tiny";         // tiny | small
  std::string tokenizer;               // tokenizer.json to copy; empty: train one
  int tokenizer_vocab_size = 4096;     // when training one
  std::vector<std::string> overrides;  // config.json "key=value"
  uint64_t seed = 42;
  std::string out_dir;
};

// Writes the directory; returns the parameter count.
int64_t InitModelDir(const InitModelSpec& spec);

// Writes DIR/tokenizer_config.json as transformers expects beside
// tokenizer.json: special tokens and clean_up_tokenization_spaces (true for
// WordPiece as BERT ships it, false for byte-level BPE as Qwen2 ships it).
void WriteTokenizerConfig(const std::string& dir, bool wordpiece);

// The built-in BERT-style WordPiece tokenizer.json: its vocabulary is learnt
// from the built-in corpus (one token per frequent word, plus characters).
std::string BuiltinWordPieceTokenizer(int vocab_size);

}  // namespace prlm::pipeline
