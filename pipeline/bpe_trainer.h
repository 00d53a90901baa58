// Trains a byte-level BPE tokenizer with the Qwen2 pre-tokenizer (NFC, the
// Qwen2 split regex, GPT-2 byte mapping) and returns it as tokenizer.json text
// that Hugging Face's libraries load and encode identically to prlm.
//
// Algorithm: count pre-tokenized words, then repeatedly merge the most frequent
// adjacent pair (ties: the lexicographically smallest pair of strings), updating
// pair counts only in the words that contain the merged pair.
// Thread-safety: a pure function.
#pragma once

#include <functional>
#include <string>
#include <vector>

namespace prlm::pipeline {

struct BpeTrainerOptions {
  int vocab_size = 4096;  // base bytes + merges + special tokens
  int min_frequency = 2;  // a pair seen fewer times is never merged
  std::vector<std::string> special_tokens = {"<|endoftext|>", "<|im_start|>", "<|im_end|>"};
  // Called every 1,000 merges with (merges done, merges planned).
  std::function<void(int, int)> progress;
};

// Every line of the files (its '\n' kept): one training text each.
std::vector<std::string> ReadCorpusLines(const std::vector<std::string>& paths);

// REQUIRES: vocab_size > 256 + special_tokens.size().
std::string TrainByteLevelBpe(const std::vector<std::string>& texts, const BpeTrainerOptions& options);

}  // namespace prlm::pipeline
