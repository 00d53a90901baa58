#include "common/model/safetensors.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstring>
#include <sstream>

#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::model {
namespace {

struct DTypeEntry {
  DType d;
  const char* name;
  size_t size;
};
constexpr DTypeEntry kDTypes[] = {{DType::kF32, "F32", 4},  {DType::kF16, "F16", 2}, {DType::kBF16, "BF16", 2},
                                  {DType::kF64, "F64", 8},  {DType::kI64, "I64", 8}, {DType::kI32, "I32", 4},
                                  {DType::kI16, "I16", 2},  {DType::kI8, "I8", 1},   {DType::kU8, "U8", 1},
                                  {DType::kBool, "BOOL", 1}};

std::string ShapeString(const std::vector<int64_t>& s) {
  std::ostringstream os;
  os << '[';
  for (size_t i = 0; i < s.size(); ++i) os << (i ? "," : "") << s[i];
  os << ']';
  return os.str();
}

}  // namespace

const char* DTypeName(DType d) {
  for (const auto& e : kDTypes)
    if (e.d == d) return e.name;
  return "?";
}

size_t DTypeSize(DType d) {
  for (const auto& e : kDTypes)
    if (e.d == d) return e.size;
  return 0;
}

int64_t TensorInfo::numel() const {
  int64_t n = 1;
  for (int64_t s : shape) n *= s;
  return n;
}

SafetensorsFile::SafetensorsFile(const std::string& path)
    : path_(path), file_(std::make_unique<util::MappedFile>(path)) {
  const size_t size = file_->size();
  PRLM_REQUIRE(size >= 8,
               "safetensors '" << path << "': file is " << size << " bytes, too small for the 8-byte header length");
  uint64_t header_len = 0;
  std::memcpy(&header_len, file_->data(), 8);  // little-endian host
  PRLM_REQUIRE(header_len <= size - 8, "safetensors '" << path << "': header length " << header_len
                                                       << " runs past the end of the file (" << size << " bytes)");
  data_start_ = 8 + header_len;
  const uint64_t data_size = size - data_start_;
  nlohmann::json header;
  try {
    header = nlohmann::json::parse(file_->data() + 8, file_->data() + 8 + header_len);
  } catch (const nlohmann::json::parse_error& e) {
    PRLM_THROW("safetensors '" << path << "': header is not valid JSON: " << e.what());
  }
  PRLM_REQUIRE(header.is_object(), "safetensors '" << path << "': header is not a JSON object");
  for (const auto& [name, entry] : header.items()) {
    const std::string where = "safetensors '" + path + "', tensor '" + name + "'";
    if (name == "__metadata__") {
      PRLM_REQUIRE(entry.is_object(), "safetensors '" << path << "': __metadata__ is not an object");
      for (const auto& [k, v] : entry.items()) {
        PRLM_REQUIRE(v.is_string(),
                     "safetensors '" << path << "': __metadata__ value of '" << k << "' is not a string");
        metadata_[k] = v.get<std::string>();
      }
      continue;
    }
    PRLM_REQUIRE(
        entry.is_object() && entry.contains("dtype") && entry.contains("shape") && entry.contains("data_offsets"),
        where << ": entry needs dtype, shape and data_offsets");
    TensorInfo t;
    t.name = name;
    PRLM_REQUIRE(entry["dtype"].is_string(), where << ": dtype is not a string");
    const std::string dname = entry["dtype"].get<std::string>();
    const auto* de =
        std::find_if(std::begin(kDTypes), std::end(kDTypes), [&](const DTypeEntry& e) { return dname == e.name; });
    PRLM_REQUIRE(de != std::end(kDTypes), where << ": unknown dtype '" << dname
                                                << "' (supported: F32, F16, BF16, F64, I64, I32, I16, I8, U8, BOOL)");
    t.dtype = de->d;
    PRLM_REQUIRE(entry["shape"].is_array(), where << ": shape is not an array");
    for (const auto& s : entry["shape"]) {
      PRLM_REQUIRE(s.is_number_integer() && s.get<int64_t>() >= 0,
                   where << ": shape " << entry["shape"].dump() << " has a non-integer or negative dimension");
      t.shape.push_back(s.get<int64_t>());
    }
    const auto& off = entry["data_offsets"];
    PRLM_REQUIRE(off.is_array() && off.size() == 2 && off[0].is_number_unsigned() && off[1].is_number_unsigned(),
                 where << ": data_offsets must be two non-negative integers, got " << off.dump());
    t.begin = off[0].get<uint64_t>(), t.end = off[1].get<uint64_t>();
    PRLM_REQUIRE(t.begin <= t.end && t.end <= data_size, where << ": data_offsets [" << t.begin << ", " << t.end
                                                               << "] fall outside the data section (" << data_size
                                                               << " bytes)");
    // numel * size, guarding against overflow from absurd shapes.
    unsigned __int128 need = de->size;
    for (int64_t s : t.shape) need *= static_cast<uint64_t>(s);
    PRLM_REQUIRE(need == t.end - t.begin, where << ": dtype " << dname << " with shape " << ShapeString(t.shape)
                                                << " needs " << static_cast<uint64_t>(need)
                                                << " bytes but data_offsets give " << t.end - t.begin);
    tensors_.push_back(std::move(t));
  }
  std::vector<size_t> order(tensors_.size());
  for (size_t i = 0; i < order.size(); ++i) order[i] = i;
  std::sort(order.begin(), order.end(), [&](size_t a, size_t b) { return tensors_[a].begin < tensors_[b].begin; });
  for (size_t i = 1; i < order.size(); ++i) {
    const auto& prev = tensors_[order[i - 1]];
    const auto& cur = tensors_[order[i]];
    PRLM_REQUIRE(cur.begin >= prev.end || cur.begin == cur.end || prev.begin == prev.end,
                 "safetensors '" << path << "': tensor '" << cur.name << "' (bytes " << cur.begin << ".." << cur.end
                                 << ") overlaps tensor '" << prev.name << "' (bytes " << prev.begin << ".." << prev.end
                                 << ")");
  }
  for (size_t i = 0; i < tensors_.size(); ++i) index_[tensors_[i].name] = i;
}

SafetensorsFile::~SafetensorsFile() = default;

const TensorInfo& SafetensorsFile::Info(const std::string& name) const {
  const auto it = index_.find(name);
  PRLM_REQUIRE(it != index_.end(), "safetensors '" << path_ << "': missing tensor '" << name << "'");
  return tensors_[it->second];
}

const uint8_t* SafetensorsFile::Data(const TensorInfo& t) const { return file_->data() + data_start_ + t.begin; }

void WriteSafetensors(const std::string& path, const std::vector<TensorBytes>& tensors,
                      const std::map<std::string, std::string>& metadata) {
  std::vector<const TensorBytes*> sorted;
  for (const auto& t : tensors) sorted.push_back(&t);
  std::sort(sorted.begin(), sorted.end(), [](const TensorBytes* a, const TensorBytes* b) { return a->name < b->name; });
  nlohmann::ordered_json header = nlohmann::ordered_json::object();
  if (!metadata.empty()) header["__metadata__"] = metadata;
  uint64_t offset = 0;
  for (const TensorBytes* t : sorted) {
    size_t need = DTypeSize(t->dtype);
    for (int64_t s : t->shape) need *= static_cast<size_t>(s);
    PRLM_REQUIRE(need == t->nbytes, "writing '" << path << "': tensor '" << t->name << "' has " << t->nbytes
                                                << " bytes, its shape needs " << need);
    header[t->name] = {
        {"dtype", DTypeName(t->dtype)}, {"shape", t->shape}, {"data_offsets", {offset, offset + t->nbytes}}};
    offset += t->nbytes;
  }
  std::string json = header.dump();
  json.append((8 - json.size() % 8) % 8, ' ');  // align the data section
  std::string out;
  out.reserve(8 + json.size() + offset);
  const uint64_t n = json.size();
  out.append(reinterpret_cast<const char*>(&n), 8);
  out += json;
  for (const TensorBytes* t : sorted) out.append(static_cast<const char*>(t->data), t->nbytes);
  util::WriteFileAtomic(path, out);
}

}  // namespace prlm::model
