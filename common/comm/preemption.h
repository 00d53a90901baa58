// Preemption: SIGTERM or SIGUSR1 (what Slurm sends ahead of a time limit with
// --signal, and what mpirun forwards for SIGUSR1) asks the job to finish the
// current step, write a checkpoint and exit 0.
//
// Every rank installs the handlers (so the signal never kills a rank). A
// rank other than the coordinator that sees the signal tells the coordinator
// with a Preempt message the next time it waits for work
// (AwaitCoordinator); the coordinator checks its own flag and those messages
// at the end of every step.
//
// Thread-safety: the flag is a sig_atomic_t written by the handler only.
#pragma once

#include "common/comm/train_job.h"
#include "proto/train.pb.h"

namespace prlm::comm {

void InstallPreemptionHandlers();
// The signal received (SIGTERM or SIGUSR1), or 0.
int PreemptionSignal();
// "SIGTERM" / "SIGUSR1".
const char* SignalName(int signal);

// The next message from the coordinator (rank 0), for ranks that wait for
// work: polls, and reports this rank's preemption signal to the coordinator
// once. Aborts the job if the coordinator goes silent for `timeout`.
proto::JobMessage AwaitCoordinator(const TrainJob& job, std::chrono::milliseconds timeout);

}  // namespace prlm::comm
