#include "tests/gpu/check_flags.h"

#include <cstdlib>

#include "common/util/check.h"

namespace prlm::gpu_checks {

CheckFlags::CheckFlags(int argc, char** argv, int first, std::map<std::string, std::string> known)
    : values_(std::move(known)) {
  for (int i = first; i < argc; i += 2) {
    const std::string arg = argv[i];
    PRLM_REQUIRE(arg.rfind("--", 0) == 0, "unexpected argument '" << arg << "' (flags are --name value)");
    const std::string name = arg.substr(2);
    PRLM_REQUIRE(values_.count(name), "unknown flag '" << arg << "'");
    PRLM_REQUIRE(i + 1 < argc, "flag '" << arg << "' needs a value");
    values_[name] = argv[i + 1];
  }
}

const std::string& CheckFlags::Str(const std::string& name) const {
  const auto it = values_.find(name);
  PRLM_CHECK_MSG(it != values_.end(), "flag '" << name << "' was not declared");
  return it->second;
}

int CheckFlags::Int(const std::string& name) const {
  const std::string& v = Str(name);
  char* end = nullptr;
  const long n = std::strtol(v.c_str(), &end, 10);
  PRLM_REQUIRE(!v.empty() && *end == '\0', "--" << name << " wants an integer, got '" << v << "'");
  return static_cast<int>(n);
}

double CheckFlags::Double(const std::string& name) const {
  const std::string& v = Str(name);
  char* end = nullptr;
  const double x = std::strtod(v.c_str(), &end);
  PRLM_REQUIRE(!v.empty() && *end == '\0', "--" << name << " wants a number, got '" << v << "'");
  return x;
}

std::vector<std::string> CheckFlags::List(const std::string& name) const {
  std::vector<std::string> out;
  const std::string& v = Str(name);
  size_t start = 0;
  while (start <= v.size()) {
    const size_t comma = v.find(',', start);
    const std::string item = v.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    PRLM_REQUIRE(!item.empty(), "--" << name << " has an empty entry in '" << v << "'");
    out.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

}  // namespace prlm::gpu_checks
