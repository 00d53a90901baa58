// A server on its own thread and a raw TCP connection to it, for the
// security and TLS tests (which write bytes no RpcClient would).
#pragma once

#include <arpa/inet.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>
#include <thread>

#include "common/net/rpc_server.h"

namespace prlm::net {

// A server (with a secret, unless given other options), running on its own thread.
struct SecureServer {
  explicit SecureServer(const std::string& secret, double idle_timeout_s = 120)
      : SecureServer(Options(secret, idle_timeout_s)) {}
  // `setup` registers handlers before the server runs.
  explicit SecureServer(ServerOptions options, const std::function<void(RpcServer&)>& setup = {})
      : server(std::move(options)) {
    if (setup) setup(server);
    thread = std::thread([this] { server.Run(); });
  }
  ~SecureServer() {
    server.Stop();
    thread.join();
  }
  static ServerOptions Options(const std::string& secret, double idle_timeout_s) {
    ServerOptions o;
    o.secret = secret;
    o.idle_timeout_s = idle_timeout_s;
    return o;
  }
  uint64_t Counter(const std::string& name) const { return server.Counters().at(name); }
  // The counter once it reaches `want` (the IO thread counts a refusal just
  // after closing), or its value after 10 s.
  uint64_t CounterReaching(const std::string& name, uint64_t want) const {
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
    while (Counter(name) < want && std::chrono::steady_clock::now() < deadline)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return Counter(name);
  }
  RpcServer server;
  std::thread thread;
};

// 127.0.0.1:port (0: any free port, for bind).
inline sockaddr_in LoopbackAddress(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// A plain blocking TCP connection to the server, for writing raw bytes.
class RawConnection {
 public:
  explicit RawConnection(uint16_t port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = LoopbackAddress(port);
    EXPECT_EQ(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    timeval tv{5, 0};  // no test waits forever
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~RawConnection() { ::close(fd_); }
  int fd() const { return fd_; }
  void Send(const std::string& bytes) { ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL); }
  // Up to n bytes; fewer when the server closes (or after 5 s).
  std::string Receive(size_t n) {
    std::string out;
    char buf[256];
    while (out.size() < n) {
      const ssize_t got = ::recv(fd_, buf, std::min(sizeof buf, n - out.size()), 0);
      if (got <= 0) break;
      out.append(buf, static_cast<size_t>(got));
    }
    return out;
  }
  // True when the server has closed: recv reports end of stream (or reset).
  bool ClosedByServer() {
    char c;
    const ssize_t got = ::recv(fd_, &c, 1, 0);
    return got == 0 || (got < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
  }

 private:
  int fd_ = -1;
};

}  // namespace prlm::net
