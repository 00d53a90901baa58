// A blocking client for RpcServer: one request, one reply, with a deadline
// and retries.
//
// Call() sends a frame and waits for the reply with the same request id. It
// keeps a small pool of open connections, so concurrent callers each use
// their own and a later call reuses an idle one. A connection that fails
// (refused, reset, closed by the server) is dropped; the call is retried on a
// fresh connection, with exponential back-off, while attempts and the deadline
// allow. Only idempotent requests should be sent through Call (retrieval and
// scoring are). Waiting uses poll(), never a busy loop.
//
// With a secret, every new connection first runs the mutual handshake
// (handshake.h); a server that cannot prove the secret is never sent a request.
// With TLS (tls.h), every connection is TLS 1.3. With a trust, the server's
// certificate must verify against it before anything else is sent; without
// one, the secret's handshake, bound to the TLS channel, proves the server
// before any request is sent.
//
// Errors: RpcError with kind kDeadline (the deadline passed), kUnavailable
// (every attempt failed to connect or lost the connection), kRemote (the
// server replied with an ErrorReply) or kProtocol (the reply was not a valid
// frame, the server did not prove the secret, or its certificate did not
// verify).
//
// Thread-safety: Call() may be used from many threads at once.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "common/net/frame.h"
#include "common/net/tls.h"

namespace prlm::net {

struct ClientOptions {
  int attempts = 3;         // tries per call, including the first
  double backoff_s = 0.05;  // before the second attempt; doubles after
  double connect_timeout_s = 2;
  size_t max_frame_bytes = kDefaultMaxFrameBytes;
  size_t max_idle_connections = 64;
  std::string secret;  // the job secret (handshake.h); empty: no handshake (insecure)
  bool tls = false;    // speak TLS 1.3
  TlsTrust tls_trust;  // with tls: the certificates to trust; empty: the secret proves the server
                       // (REQUIRES: a secret then)
};

class RpcError : public std::runtime_error {
 public:
  enum Kind { kDeadline, kUnavailable, kRemote, kProtocol };
  RpcError(Kind kind, const std::string& message) : std::runtime_error(message), kind_(kind) {}
  Kind kind() const { return kind_; }

 private:
  Kind kind_;
};

struct Endpoint {
  std::string host;
  uint16_t port = 0;
  std::string ToString() const { return host + ":" + std::to_string(port); }
};
// "host:port" -> Endpoint; throws util::Error naming the bad text.
Endpoint ParseEndpoint(const std::string& text);
// "h1:p1,h2:p2" -> endpoints, in order.
std::vector<Endpoint> ParseEndpoints(const std::string& text);

class RpcClient {
 public:
  explicit RpcClient(Endpoint endpoint, ClientOptions options = {});
  ~RpcClient();
  RpcClient(const RpcClient&) = delete;
  RpcClient& operator=(const RpcClient&) = delete;

  // Returns the reply's type and payload. An ErrorReply throws kRemote.
  struct Response {
    uint16_t type = 0;
    std::string payload;
  };
  Response Call(uint16_t type, const std::string& payload, std::chrono::milliseconds timeout);

  const Endpoint& endpoint() const { return endpoint_; }

 private:
  class Link;  // one connection: a socket, with TLS over it when on
  std::unique_ptr<Link> Connect(std::chrono::steady_clock::time_point deadline);  // or throws
  void Authenticate(Link& link, std::chrono::steady_clock::time_point deadline);  // or throws
  void Release(std::unique_ptr<Link> link);
  Endpoint endpoint_;
  ClientOptions options_;
  std::unique_ptr<TlsClientContext> tls_;  // when options_.tls
  std::mutex mu_;
  std::vector<std::unique_ptr<Link>> idle_;  // open connections, guarded by mu_
  uint64_t next_request_id_ = 1;             // guarded by mu_
};

}  // namespace prlm::net
