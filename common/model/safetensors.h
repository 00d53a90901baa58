// The safetensors format (Hugging Face): 8-byte little-endian header length N,
// N bytes of JSON {name: {dtype, shape, data_offsets: [begin, end]}, ...,
// "__metadata__": {str: str}}, then the tensor bytes (offsets are relative to
// the end of the header).
//
// SafetensorsFile memory-maps a file and validates all of it at open: header
// length inside the file, JSON well-formed, known dtype, shape matching the
// byte size, offsets inside the data and not overlapping. Any problem throws
// util::Error naming the file, the tensor and what is wrong, so a bad file is
// never half-read. This header has no torch dependency.
// Thread-safety: immutable after construction.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

namespace prlm::util {
class MappedFile;
}

namespace prlm::model {

enum class DType { kF32, kF16, kBF16, kF64, kI64, kI32, kI16, kI8, kU8, kBool };

const char* DTypeName(DType d);
size_t DTypeSize(DType d);

struct TensorInfo {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  uint64_t begin = 0, end = 0;  // byte range within the data section
  int64_t numel() const;
};

class SafetensorsFile {
 public:
  explicit SafetensorsFile(const std::string& path);
  ~SafetensorsFile();

  const std::string& path() const { return path_; }
  bool Has(const std::string& name) const { return index_.count(name) > 0; }
  // Throws util::Error naming the file and tensor if missing.
  const TensorInfo& Info(const std::string& name) const;
  const std::vector<TensorInfo>& tensors() const { return tensors_; }
  const uint8_t* Data(const TensorInfo& t) const;
  const std::map<std::string, std::string>& metadata() const { return metadata_; }

 private:
  std::string path_;
  std::unique_ptr<util::MappedFile> file_;
  uint64_t data_start_ = 0;
  std::vector<TensorInfo> tensors_;
  std::map<std::string, size_t> index_;
  std::map<std::string, std::string> metadata_;
};

// One tensor to write: its bytes must be dtype-sized and row-major.
struct TensorBytes {
  std::string name;
  DType dtype;
  std::vector<int64_t> shape;
  const void* data;
  size_t nbytes;
};

// Writes a safetensors file atomically (temp file + rename), tensors sorted by
// name and 8-byte aligned as Hugging Face does. Throws on a size mismatch.
void WriteSafetensors(const std::string& path, const std::vector<TensorBytes>& tensors,
                      const std::map<std::string, std::string>& metadata = {});

}  // namespace prlm::model
