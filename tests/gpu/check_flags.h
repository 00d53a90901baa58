// Flags of the GPU check programs: "--name value" pairs, each flag known in
// advance with its default. Small on purpose: these programs build where the
// cli library does not (PRLM_GPU_CHECKS_ONLY).
// Thread-safety: plain values.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace prlm::gpu_checks {

class CheckFlags {
 public:
  // `known`: flag name (without "--") -> default. Throws util::Error naming
  // an unknown flag, a flag without a value, or a stray argument.
  CheckFlags(int argc, char** argv, int first, std::map<std::string, std::string> known);

  const std::string& Str(const std::string& name) const;
  int Int(const std::string& name) const;
  double Double(const std::string& name) const;
  // A comma-separated list; empty entries are refused.
  std::vector<std::string> List(const std::string& name) const;

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace prlm::gpu_checks
