#include "common/comm/mpi_job.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstdio>

#include "common/util/check.h"
#include "common/util/poll_backoff.h"

namespace prlm::comm {

MpiJob::MpiJob(int* argc, char*** argv) {
  int provided = 0;
  PRLM_MPI_CHECK(MPI_Init_thread(argc, argv, MPI_THREAD_SERIALIZED, &provided));
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  MPI_Comm_rank(MPI_COMM_WORLD, &rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &size_);
  MPI_Comm local = HostCommunicator();
  MPI_Comm_rank(local, &local_rank_);
  MPI_Comm_size(local, &local_size_);
  MPI_Comm_free(&local);
  char name[256] = {0};
  gethostname(name, sizeof name - 1);
  host_ = name;
}

MpiJob::~MpiJob() {
  int finalized = 0;
  MPI_Finalized(&finalized);
  if (!finalized) MPI_Finalize();
}

MPI_Comm HostCommunicator() {
  MPI_Comm local;
  PRLM_MPI_CHECK(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &local));
  return local;
}

bool WaitFor(MPI_Request* request, std::chrono::milliseconds timeout, MPI_Status* status) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  util::PollBackoff backoff;
  while (true) {
    int done = 0;
    PRLM_MPI_CHECK(MPI_Test(request, &done, status ? status : MPI_STATUS_IGNORE));
    if (done) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    backoff.Sleep();
  }
}

bool Barrier(MPI_Comm comm, std::chrono::milliseconds timeout) {
  MPI_Request request;
  PRLM_MPI_CHECK(MPI_Ibarrier(comm, &request));
  return WaitFor(&request, timeout);
}

bool GatherStrings(MPI_Comm comm, const std::string& mine, int root, std::chrono::milliseconds timeout,
                   std::vector<std::string>* out) {
  int rank = 0, size = 1;
  PRLM_MPI_CHECK(MPI_Comm_rank(comm, &rank));
  PRLM_MPI_CHECK(MPI_Comm_size(comm, &size));
  PRLM_CHECK(mine.size() < (size_t{1} << 31));
  // 1. Sizes, then 2. the bytes at their offsets.
  const int length = static_cast<int>(mine.size());
  std::vector<int> lengths(rank == root ? size : 0), offsets(lengths.size());
  MPI_Request request;
  PRLM_MPI_CHECK(MPI_Igather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, comm, &request));
  if (!WaitFor(&request, timeout)) return false;
  size_t total = 0;
  for (size_t r = 0; r < lengths.size(); ++r) {
    PRLM_CHECK(total + lengths[r] < (size_t{1} << 31));
    offsets[r] = static_cast<int>(total);
    total += static_cast<size_t>(lengths[r]);
  }
  std::string all(total, '\0');
  PRLM_MPI_CHECK(MPI_Igatherv(mine.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR, root,
                              comm, &request));
  if (!WaitFor(&request, timeout)) return false;
  out->clear();
  for (size_t r = 0; r < lengths.size(); ++r) out->push_back(all.substr(offsets[r], lengths[r]));
  return true;
}

namespace {
std::function<void(const std::string&, const std::string&)>& FatalHook() {
  static std::function<void(const std::string&, const std::string&)> hook;
  return hook;
}
}  // namespace

void SetFatalHook(std::function<void(const std::string& who, const std::string& message)> hook) {
  FatalHook() = std::move(hook);
}

void AbortJob(const std::string& who, const std::string& message) {
  int initialized = 0, rank = -1;
  MPI_Initialized(&initialized);
  if (initialized) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::fprintf(stderr, "rank %d (%s): fatal: %s\n", rank, who.c_str(), message.c_str());
  std::fflush(stderr);
  static std::atomic<bool> hook_ran{false};
  if (FatalHook() && !hook_ran.exchange(true)) FatalHook()("rank " + std::to_string(rank) + " (" + who + ")", message);
  if (initialized) MPI_Abort(MPI_COMM_WORLD, 1);
  std::_Exit(1);
}

std::string MpiErrorText(int code) {
  char text[MPI_MAX_ERROR_STRING] = {0};
  int length = 0;
  MPI_Error_string(code, text, &length);
  return std::string(text, static_cast<size_t>(length));
}

}  // namespace prlm::comm
