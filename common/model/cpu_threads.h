// CPU thread budget for numeric work.
//
// Debian's libtorch calls OpenBLAS (pthreads build), which keeps its own thread
// pool. Letting both torch's intra-op pool and OpenBLAS use every core
// oversubscribes the machine: on the 2-core machines decode ran ~5x slower
// with torch=2/OpenBLAS=2 than with torch=1/OpenBLAS=2 (see docs/architecture.md).
// So matrix products get the cores through OpenBLAS and torch's own pool
// runs single-threaded. Call once at start, before any torch work.
// Thread-safety: call from the main thread only.
#pragma once

namespace prlm {

// threads <= 0 means all cores. Returns the count used.
int ConfigureCpuThreads(int threads);

}  // namespace prlm
