// Protobuf messages between ranks of a training job, over MPI.
//
// A message is one MPI point-to-point send of its serialized bytes on
// kJobTag. Both directions wait through the back-off polling of mpi_job.h
// (never Open MPI's busy-polling blocking calls), and both take a timeout:
// a peer that never answers ends the wait with `false`, and the caller
// decides whom to blame (usually AbortJob naming the peer).
//
// Thread-safety: MPI is SERIALIZED; call from the rank's MPI thread.
#pragma once

#include <mpi.h>

#include <chrono>
#include <deque>
#include <map>
#include <vector>

#include "proto/train.pb.h"

namespace prlm::comm {

constexpr int kJobTag = 17;

// Sends `message` to `dest` and waits until the send buffer is free.
// Returns false on timeout (the send is cancelled).
bool SendMessage(const proto::JobMessage& message, int dest, MPI_Comm comm, std::chrono::milliseconds timeout);

// Waits for the next message from `source` (MPI_ANY_SOURCE: from anyone) and
// parses it into *message; *from gets the sender. Returns false on timeout.
// A message that does not parse aborts the job (it is a bug, not user input).
bool ReceiveMessage(proto::JobMessage* message, int source, MPI_Comm comm, std::chrono::milliseconds timeout,
                    int* from = nullptr);

// Receives from one named rank while taking in whatever else arrives (kept
// for later), so a large message from another rank never waits for its
// receive: the sender of a rendezvous-sized message blocks until the
// receiver matches it, and two ranks each waiting on the other would hang.
class Inbox {
 public:
  explicit Inbox(MPI_Comm comm) : comm_(comm) {}
  // The next message from each of `sources` (in their order) into
  // *messages. On timeout returns false, *missing lists the sources that sent
  // none, and what did arrive stays queued. Preempt notes are set aside for
  // TakePreempt, never returned here.
  bool ReceiveFromEach(const std::vector<int>& sources, std::chrono::milliseconds timeout,
                       std::vector<proto::JobMessage>* messages, std::vector<int>* missing);
  // The signal of a Preempt note any rank has sent (taken), or 0. Does not wait.
  int TakePreempt();

 private:
  MPI_Comm comm_;
  // Whether a message from `source` is queued (a preempt note ahead of it is
  // set aside).
  bool HasMessage(int source);

  int preempt_ = 0;
  std::map<int, std::deque<proto::JobMessage>> pending_;
};

// This process's job messages so far, sent and received, with their bytes
// (the coordinator's coordinator/* figures). Thread-safe.
struct MessageTraffic {
  uint64_t messages = 0, bytes = 0;
};
MessageTraffic JobMessageTraffic();

// "work", "result", ... for messages and errors.
const char* BodyName(const proto::JobMessage& message);

// A wait without a real bound (days): for ranks that idle until the
// coordinator needs them. They still end when any rank aborts the job.
constexpr std::chrono::milliseconds kForever = std::chrono::hours(24 * 365);

}  // namespace prlm::comm
