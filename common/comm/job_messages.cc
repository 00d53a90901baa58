#include "common/comm/job_messages.h"

#include <algorithm>
#include <atomic>
#include <string>

#include "common/comm/mpi_job.h"
#include "common/util/poll_backoff.h"

namespace prlm::comm {
namespace {

std::atomic<uint64_t> g_messages{0}, g_bytes{0};

void CountMessage(size_t bytes) {
  g_messages.fetch_add(1, std::memory_order_relaxed);
  g_bytes.fetch_add(bytes, std::memory_order_relaxed);
}

}  // namespace

MessageTraffic JobMessageTraffic() { return {g_messages.load(), g_bytes.load()}; }

bool SendMessage(const proto::JobMessage& message, int dest, MPI_Comm comm, std::chrono::milliseconds timeout) {
  std::string bytes;
  if (!message.SerializeToString(&bytes) || bytes.size() > static_cast<size_t>(INT32_MAX))
    AbortJob("send", std::string("cannot serialize a '") + BodyName(message) + "' message of " +
                         std::to_string(message.ByteSizeLong()) + " bytes (the MPI limit is 2 GiB)");
  MPI_Request request;
  PRLM_MPI_CHECK(MPI_Isend(bytes.data(), static_cast<int>(bytes.size()), MPI_BYTE, dest, kJobTag, comm, &request));
  if (WaitFor(&request, timeout)) {
    CountMessage(bytes.size());
    return true;
  }
  MPI_Cancel(&request);
  MPI_Request_free(&request);
  return false;
}

bool ReceiveMessage(proto::JobMessage* message, int source, MPI_Comm comm, std::chrono::milliseconds timeout,
                    int* from) {
  // Probe with back-off sleeps until a message is there, then receive it
  // (which completes at once: the matched message is ours).
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  util::PollBackoff backoff;
  MPI_Message handle;
  MPI_Status status;
  while (true) {
    int found = 0;
    PRLM_MPI_CHECK(MPI_Improbe(source, kJobTag, comm, &found, &handle, &status));
    if (found) break;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    backoff.Sleep();
  }
  int count = 0;
  PRLM_MPI_CHECK(MPI_Get_count(&status, MPI_BYTE, &count));
  std::string bytes(static_cast<size_t>(count), '\0');
  PRLM_MPI_CHECK(MPI_Mrecv(bytes.data(), count, MPI_BYTE, &handle, MPI_STATUS_IGNORE));
  if (!message->ParseFromString(bytes))
    AbortJob("receive", "a " + std::to_string(count) + "-byte message from rank " + std::to_string(status.MPI_SOURCE) +
                            " does not parse as a JobMessage");
  if (from) *from = status.MPI_SOURCE;
  CountMessage(bytes.size());
  return true;
}

int Inbox::TakePreempt() {
  // Take in whatever has arrived, then look for notes.
  proto::JobMessage m;
  int from = -1;
  while (ReceiveMessage(&m, MPI_ANY_SOURCE, comm_, std::chrono::milliseconds(0), &from)) pending_[from].push_back(m);
  int signal = 0;
  for (auto& [rank, queue] : pending_)
    for (auto it = queue.begin(); it != queue.end();) {
      if (it->has_preempt()) {
        signal = it->preempt().signal();
        it = queue.erase(it);
      } else {
        ++it;
      }
    }
  if (signal == 0) signal = preempt_;
  preempt_ = 0;
  return signal;
}

bool Inbox::HasMessage(int source) {
  auto& queue = pending_[source];
  while (!queue.empty() && queue.front().has_preempt()) {  // a note, not an answer: keep it for TakePreempt
    preempt_ = queue.front().preempt().signal();
    queue.pop_front();
  }
  return !queue.empty();
}

bool Inbox::ReceiveFromEach(const std::vector<int>& sources, std::chrono::milliseconds timeout,
                            std::vector<proto::JobMessage>* messages, std::vector<int>* missing) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  missing->clear();
  while (true) {
    if (std::all_of(sources.begin(), sources.end(), [this](int s) { return HasMessage(s); })) break;
    const auto left =
        std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    proto::JobMessage m;
    int from = -1;
    if (left.count() <= 0 || !ReceiveMessage(&m, MPI_ANY_SOURCE, comm_, left, &from)) {
      for (int s : sources)
        if (!HasMessage(s)) missing->push_back(s);
      return false;
    }
    pending_[from].push_back(std::move(m));
  }
  messages->clear();
  for (int s : sources) {
    messages->push_back(std::move(pending_[s].front()));
    pending_[s].pop_front();
  }
  return true;
}

const char* BodyName(const proto::JobMessage& message) {
  switch (message.body_case()) {
    case proto::JobMessage::kWork:
      return "work";
    case proto::JobMessage::kResult:
      return "result";
    case proto::JobMessage::kLearn:
      return "learn";
    case proto::JobMessage::kReport:
      return "report";
    case proto::JobMessage::kSync:
      return "sync";
    case proto::JobMessage::kSave:
      return "save";
    case proto::JobMessage::kSaved:
      return "saved";
    case proto::JobMessage::kStop:
      return "stop";
    case proto::JobMessage::kStart:
      return "start";
    case proto::JobMessage::kPreempt:
      return "preempt";
    case proto::JobMessage::BODY_NOT_SET:
      break;
  }
  return "empty";
}

}  // namespace prlm::comm
