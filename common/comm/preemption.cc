#include "common/comm/preemption.h"

#include <csignal>

#include "common/comm/job_messages.h"
#include "common/comm/mpi_job.h"

namespace prlm::comm {

namespace {
volatile std::sig_atomic_t g_signal = 0;
void OnSignal(int signal) { g_signal = signal; }
}  // namespace

void InstallPreemptionHandlers() {
  struct sigaction action {};
  action.sa_handler = OnSignal;
  sigemptyset(&action.sa_mask);
  action.sa_flags = SA_RESTART;
  sigaction(SIGTERM, &action, nullptr);
  sigaction(SIGUSR1, &action, nullptr);
}

int PreemptionSignal() { return g_signal; }

const char* SignalName(int signal) {
  switch (signal) {
    case SIGTERM:
      return "SIGTERM";
    case SIGUSR1:
      return "SIGUSR1";
    default:
      return "no signal";
  }
}

proto::JobMessage AwaitCoordinator(const TrainJob& job, std::chrono::milliseconds timeout) {
  static bool reported = false;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  proto::JobMessage m;
  while (true) {
    if (!reported && g_signal != 0) {
      proto::JobMessage note;
      note.mutable_preempt()->set_signal(g_signal);
      if (!SendMessage(note, 0, job.world, job.rank_timeout))
        AbortJob(job.Who(), "reporting a preemption signal to the coordinator timed out");
      reported = true;
    }
    if (ReceiveMessage(&m, 0, job.world, std::chrono::milliseconds(200))) return m;
    if (std::chrono::steady_clock::now() >= deadline) AbortJob(job.Who(), "the coordinator went silent");
  }
}

}  // namespace prlm::comm
