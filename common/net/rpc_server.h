// A framed request/response server over TCP (Boost.Asio), shared by the
// retrieval and reward tiers.
//
// Each connection reads frames (frame.h) in a loop; a frame's handler runs on
// a pool of worker threads, so a slow request never blocks reading or other
// connections, and several requests of one connection may be in flight (the
// reply carries the request id). Replies are written in completion order.
//
// Bad input is contained to its connection: a wrong magic, a length over
// `max_frame_bytes`, a type with no handler, a payload the handler rejects
// (BadPayload), or a connection that stops mid-frame for `idle_timeout` is
// counted and that connection is closed; everyone else keeps being served.
// A handler's other exceptions become an ErrorReply on an open connection.
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

namespace prlm::net {

struct ServerOptions {
  std::string host = "127.0.0.1";
  uint16_t port = 0;  // 0: pick a free port (see port())
  size_t max_frame_bytes = kDefaultMaxFrameBytes;
  int worker_threads = 2;
  double idle_timeout_s = 120;  // a connection silent (or stuck mid-frame) this long is closed
  bool handle_signals = false;  // SIGTERM / SIGINT -> Stop()
};

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

class RpcServer {
 public:
  // Runs on a worker thread; returns the reply.
  using Handler = std::function<Reply(const std::string& payload)>;

  explicit RpcServer(ServerOptions options);
  ~RpcServer();
  RpcServer(const RpcServer&) = delete;
  RpcServer& operator=(const RpcServer&) = delete;

  // REQUIRES: before Run(); type not one of the reserved MessageType values.
  void Handle(uint16_t type, Handler handler);

  // Serves until Stop() / a signal, then drains and returns.
  void Run();
  void Stop();

  uint16_t port() const;  // the bound port (valid after construction)
  // connections_accepted, connections_open, frames_served, error_replies,
  // bad_magic, oversized, unknown_type, bad_payload, truncated, idle_closed,
  // rejected_draining.
  std::map<std::string, uint64_t> Counters() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace prlm::net
