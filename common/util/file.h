// Whole-file and memory-mapped reads, atomic writes.
//
// MappedFile maps a file read-only for its lifetime (safetensors, large JSON).
// WriteFileAtomic writes to "<path>.tmp.<pid>" then renames, so a reader never
// sees a half-written file. Errors throw util::Error naming the path.
// Thread-safety: a MappedFile is immutable after construction.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace prlm::util {

std::string ReadFile(const std::string& path);
// The file's lines without their '\n', empty ones left out.
std::vector<std::string> ReadNonEmptyLines(const std::string& path);
void WriteFileAtomic(const std::string& path, std::string_view contents);

// Files that hold keys (the job secret, a TLS private key). ReadPrivateFile
// refuses a file group or others may read (naming its mode and the chmod
// that fixes it); `what` names the file's role in messages ("secret file").
// WriteNewPrivateFile creates the file with mode 0600 and never overwrites one.
std::string ReadPrivateFile(const std::string& path, const char* what);
void WriteNewPrivateFile(const std::string& path, std::string_view contents, const char* what);

// Copies the tokenizer files of a Hugging Face model directory that exist
// (tokenizer.json, tokenizer_config.json, special_tokens_map.json, vocab.txt,
// merges.txt, vocab.json, generation_config.json) from `from_dir` into
// `to_dir`, overwriting. Nothing happens when both name the same directory.
void CopyTokenizerFiles(const std::string& from_dir, const std::string& to_dir);

class MappedFile {
 public:
  explicit MappedFile(const std::string& path);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return data_; }
  size_t size() const { return size_; }
  const std::string& path() const { return path_; }

 private:
  std::string path_;
  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
};

}  // namespace prlm::util
