// The MPI side of a training job, in one place: start-up and shutdown, the
// only way ranks wait on MPI (polling with back-off sleeps: Open MPI's
// blocking calls busy-poll, and three waiting ranks once ate both cores of a
// 2-core machine), and ending the whole job on a fatal error so no rank is
// ever left waiting.
//
// Thread-safety: MPI is initialised with MPI_THREAD_SERIALIZED; call MPI from
// one thread at a time.
#pragma once

#include <mpi.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

namespace prlm::comm {

class MpiJob {
 public:
  // MPI_Init_thread. REQUIRES: once per process.
  MpiJob(int* argc, char*** argv);
  ~MpiJob();  // MPI_Finalize (unless the job was aborted)
  MpiJob(const MpiJob&) = delete;
  MpiJob& operator=(const MpiJob&) = delete;

  int rank() const { return rank_; }
  int size() const { return size_; }
  const std::string& host() const { return host_; }
  // Among the ranks on this host (MPI's shared-memory split): for CPU
  // threads and GPU placement.
  int local_rank() const { return local_rank_; }
  int local_size() const { return local_size_; }

 private:
  int rank_ = 0, size_ = 1, local_rank_ = 0, local_size_ = 1;
  std::string host_;
};

// The ranks on this host (MPI's shared-memory split), in world-rank order.
// REQUIRES: MPI initialised. The caller frees it (MPI_Comm_free).
MPI_Comm HostCommunicator();

// Waits for `request` by MPI_Test with sleeps between tests (util/poll_backoff.h).
// Returns false when `timeout` passes first (the request stays pending).
bool WaitFor(MPI_Request* request, std::chrono::milliseconds timeout, MPI_Status* status = nullptr);

// A barrier that waits like WaitFor; false on timeout.
bool Barrier(MPI_Comm comm, std::chrono::milliseconds timeout);

// Every rank's `mine` at `root`, in rank order (other ranks get {}). Waits
// like WaitFor; false on timeout. REQUIRES: each string under 2 GiB.
bool GatherStrings(MPI_Comm comm, const std::string& mine, int root, std::chrono::milliseconds timeout,
                   std::vector<std::string>* out);

// Logs "rank R (ROLE on HOST): fatal: MESSAGE" to stderr, runs the fatal hook
// (if set), and aborts every rank of the job (MPI_Abort, exit code 1).
[[noreturn]] void AbortJob(const std::string& who, const std::string& message);

// What AbortJob does before aborting (prlm train: mark status.json failed).
// The hook must not throw; it runs at most once. Set it once, before the
// threads that may abort start.
void SetFatalHook(std::function<void(const std::string& who, const std::string& message)> hook);

// "MPI_ERR_...: text" for an MPI return code.
std::string MpiErrorText(int code);

}  // namespace prlm::comm

// Checks an MPI call; on failure aborts the job naming the call, file and line.
#define PRLM_MPI_CHECK(call)                                                                               \
  do {                                                                                                     \
    const int prlm_mpi_rc_ = (call);                                                                       \
    if (prlm_mpi_rc_ != MPI_SUCCESS)                                                                       \
      ::prlm::comm::AbortJob(__FILE__ ":" + std::to_string(__LINE__),                                      \
                             std::string(#call) + " failed: " + ::prlm::comm::MpiErrorText(prlm_mpi_rc_)); \
  } while (0)
