#include "common/model/weights_io.h"

#include <cstring>
#include <sstream>

#include "common/util/check.h"

namespace prlm::model {
namespace {

torch::ScalarType ToScalarType(DType d) {
  switch (d) {
    case DType::kF32:
      return torch::kFloat;
    case DType::kF16:
      return torch::kHalf;
    case DType::kBF16:
      return torch::kBFloat16;
    case DType::kF64:
      return torch::kDouble;
    case DType::kI64:
      return torch::kLong;
    case DType::kI32:
      return torch::kInt;
    case DType::kI16:
      return torch::kShort;
    case DType::kI8:
      return torch::kChar;
    case DType::kU8:
      return torch::kByte;
    case DType::kBool:
      return torch::kBool;
  }
  return torch::kFloat;
}

DType FromScalarType(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat:
      return DType::kF32;
    case torch::kHalf:
      return DType::kF16;
    case torch::kBFloat16:
      return DType::kBF16;
    case torch::kDouble:
      return DType::kF64;
    case torch::kLong:
      return DType::kI64;
    case torch::kInt:
      return DType::kI32;
    default:
      PRLM_THROW("cannot save tensors of dtype " << t << " to safetensors");
  }
}

std::string Shape(torch::IntArrayRef s) {
  std::ostringstream os;
  os << s;
  return os.str();
}

}  // namespace

torch::Tensor ReadTensor(const SafetensorsFile& file, const TensorInfo& info) {
  // Copy out of the mapping: data offsets need not be aligned for the dtype.
  auto t = torch::empty(info.shape, torch::TensorOptions().dtype(ToScalarType(info.dtype)));
  std::memcpy(t.data_ptr(), file.Data(info), info.end - info.begin);
  return t;
}

int64_t LoadParameters(torch::nn::Module& module, const std::vector<const SafetensorsFile*>& files,
                       const std::string& file_prefix, const std::string& alt_prefix,
                       const std::function<bool(const std::string&)>& skip, const std::string& context) {
  PRLM_CHECK(!files.empty());
  const auto find = [&](const std::string& n) -> const SafetensorsFile* {
    for (const auto* f : files)
      if (f->Has(n)) return f;
    return nullptr;
  };
  torch::NoGradGuard no_grad;
  int64_t loaded = 0;
  for (auto& item : module.named_parameters(/*recurse=*/true)) {
    const std::string& name = item.key();
    if (skip && skip(name)) continue;
    std::string stored = file_prefix + name;
    const SafetensorsFile* file = find(stored);
    if (!file && (file = find(alt_prefix + name))) stored = alt_prefix + name;
    PRLM_REQUIRE(file, "checkpoint '" << files[0]->path() << "' has no tensor '" << stored << "'"
                                      << (context.empty() ? "" : " (" + context + ")"));
    const TensorInfo& info = file->Info(stored);
    torch::Tensor& param = item.value();
    PRLM_REQUIRE(param.sizes() == torch::IntArrayRef(info.shape),
                 "checkpoint '" << file->path() << "': tensor '" << stored << "' has shape " << Shape(info.shape)
                                << " but the config implies " << Shape(param.sizes()));
    PRLM_REQUIRE(info.dtype == DType::kF32 || info.dtype == DType::kF16 || info.dtype == DType::kBF16 ||
                     info.dtype == DType::kF64,
                 "checkpoint '" << file->path() << "': tensor '" << stored << "' has dtype " << DTypeName(info.dtype)
                                << ", expected a floating type");
    param.copy_(ReadTensor(*file, info).to(param.scalar_type()));
    ++loaded;
  }
  return loaded;
}

void SaveParameters(const torch::nn::Module& module, const std::string& path,
                    const std::function<bool(const std::string&)>& keep,
                    const std::function<std::string(const std::string&)>& rename, torch::ScalarType dtype) {
  std::vector<torch::Tensor> owned;  // keeps converted tensors alive
  std::vector<TensorBytes> out;
  for (const auto& item : module.named_parameters(true)) {
    if (keep && !keep(item.key())) continue;
    owned.push_back(item.value().detach().to(torch::kCPU, dtype).contiguous());
    const auto& t = owned.back();
    out.push_back({rename ? rename(item.key()) : item.key(), FromScalarType(dtype), t.sizes().vec(), t.data_ptr(),
                   static_cast<size_t>(t.nbytes())});
  }
  WriteSafetensors(path, out, {{"format", "pt"}});
}

}  // namespace prlm::model
