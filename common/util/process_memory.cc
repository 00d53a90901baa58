#include "common/util/process_memory.h"

#include <fstream>
#include <string>

namespace prlm::util {

namespace {

// The "KEY:  N kB" line of a /proc file, in bytes; 0 when absent.
int64_t ProcKib(const char* path, const std::string& key) {
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);)
    if (line.compare(0, key.size(), key) == 0 && line.size() > key.size() && line[key.size()] == ':')
      return std::stoll(line.substr(key.size() + 1)) * 1024;
  return 0;
}

}  // namespace

int64_t PeakResidentBytes() { return ProcKib("/proc/self/status", "VmHWM"); }
int64_t ResidentBytes() { return ProcKib("/proc/self/status", "VmRSS"); }
int64_t HostMemoryBytes() { return ProcKib("/proc/meminfo", "MemTotal"); }

}  // namespace prlm::util
