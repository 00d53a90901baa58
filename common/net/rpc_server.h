// A framed request/response server over TCP (Boost.Asio), shared by the
// retrieval and reward tiers.
//
// Each connection reads frames (frame.h) in a loop; a frame's handler runs on
// a pool of worker threads, so a slow request never blocks reading or other
// connections, and several requests of one connection may be in flight (the
// reply carries the request id). Replies are written in completion order.
//
// Authentication: with a `secret` (the job secret, handshake.h) every
// connection must first prove it holds the secret, and learns that the server
// does; until then nothing the peer sends is parsed as a frame. A failed
// handshake (wrong or missing secret, a replay, random bytes, a peer that
// stalls for `idle_timeout`) is counted, logged at most once a minute per
// peer address, and closes only that connection. Without a secret no
// handshake is asked for (callers make that an explicit --insecure).
//
// TLS (tls.h): with a `tls` identity every connection first completes a TLS
// 1.3 handshake (counted as tls_failed when it does not, under the same idle
// timeout), and everything after it, the secret's handshake included, is
// encrypted.
//
// Bad input is contained to its connection: a wrong magic, a length over
// `max_frame_bytes`, a type with no handler, a payload the handler rejects
// (BadPayload), or a connection that stops mid-frame for `idle_timeout` is
// counted and that connection is closed; everyone else keeps being served.
// A handler's other exceptions become an ErrorReply on an open connection.
//
// Handlers come in two forms. Handle(): the handler returns the reply. Such a
// handler holds a worker thread until it is done. HandleAsync(): the handler gets a
// Responder and returns at once; whoever finishes the work (a batching thread,
// say) calls it later from any thread. A Responder that is destroyed without
// being called sends an ErrorReply, so a request is never silently lost.
//
// Stop() (or SIGTERM / SIGINT, when handle_signals) drains: the listener
// closes, idle connections close, in-flight requests finish and their replies
// are written, then Run() returns.
//
// Thread-safety: Handle() before Run(); Stop(), port() and Counters() from any
// thread.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>

#include "common/net/frame.h"
#include "common/net/tls.h"

namespace prlm::net {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port (see port())
  size_t max_frame_bytes = kDefaultMaxFrameBytes;
  int worker_threads = 2;
  double idle_timeout_s = 120;  // a connection silent (or stuck mid-frame) this long is closed
  bool handle_signals = false;  // SIGTERM / SIGINT -> Stop()
  std::string secret;           // the job secret; empty: no handshake (insecure)
  int max_in_flight = 256;      // requests one connection may have open; more get an ErrorReply
  TlsIdentity tls;              // certificate and key; empty: no TLS
};

// The first address `host` resolves to ("vm" -> "127.0.1.1"), for binding
// the interface other hosts reach it by. Throws util::Error naming the host.
std::string AddressOf(const std::string& host);

struct Reply {
  uint16_t type = 0;
  std::string payload;
};

// Thrown by a handler whose payload does not parse: the connection is closed
// and counted as "bad_payload".
class BadPayload : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Completes one request of an async handler. Copyable; the first call wins,
// later calls are ignored. Thread-safe.
class Responder {
 public:
  void operator()(Reply reply) const;
  // The payload turned out to be invalid: close the connection (as BadPayload).
  void RejectPayload() const;
  struct State;
  explicit Responder(std::shared_ptr<State> state) : state_(std::move(state)) {}

 private:
  std::shared_ptr<State> state_;
};

class RpcServer {
 public:
  // Runs on a worker thread; returns the reply.
  using Handler = std::function<Reply(const std::string& payload)>;
  // Runs on a worker thread; answers through `respond`, now or later. It may
  // still throw BadPayload (or anything else) before handing the work off.
  using AsyncHandler = std::function<void(std::string payload, Responder respond)>;

  explicit RpcServer(ServerOptions options);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // REQUIRES: before Run(); type not one of the reserved MessageType values.
  void Handle(uint16_t type, Handler handler);
  void HandleAsync(uint16_t type, AsyncHandler handler);
  // Counters of the tier behind the server, merged into Counters() and the
  // StatsReply. REQUIRES: before Run(); thread-safe to call.
  void AddCounters(std::function<std::map<std::string, uint64_t>()> source);

  // Serves until Stop() / a signal, then drains and returns.
  void Run();
  void Stop();

  uint16_t port() const;  // the bound port (valid after construction)
  // connections_accepted, connections_open, frames_served, error_replies,
  // bad_magic, oversized, unknown_type, bad_payload, truncated, idle_closed,
  // rejected_draining, authenticated, handshake_failed, in_flight_limited,
  // tls_failed, bytes_received and bytes_sent (whole frames of requests
  // read and replies served).
  std::map<std::string, uint64_t> Counters() const;
  // " name=value" for each counter, in name order (a service's last log line).
  std::string CountersLine() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace prlm::net
