// Memory of this process and of this host, from /proc (Linux): what a rank
// reports when it ends (its peak resident set) and what `prlm plan` checks a
// layout against when no device memory is given.
// Thread-safety: reads /proc; safe from any thread.
#pragma once

#include <cstdint>

namespace prlm::util {

// This process's peak resident set (VmHWM) in bytes; 0 when /proc lacks it.
int64_t PeakResidentBytes();
// This process's resident set now (VmRSS) in bytes; 0 when /proc lacks it.
int64_t ResidentBytes();
// This host's MemTotal in bytes; 0 when /proc/meminfo lacks it.
int64_t HostMemoryBytes();

}  // namespace prlm::util
