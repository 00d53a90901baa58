#include "common/net/rpc_client.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <thread>

#include "common/net/handshake.h"
#include "common/util/check.h"
#include "proto/net.pb.h"

namespace prlm::net {
namespace {

using Clock = std::chrono::steady_clock;

// Transport failures inside one attempt (retryable).
struct ConnectionLost {
  std::string what;
};

int MillisLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return left <= 0 ? 0 : static_cast<int>(std::min<int64_t>(left, INT32_MAX));
}

// Waits for `events` on fd until the deadline. False on timeout.
bool WaitFor(int fd, short events, Clock::time_point deadline) {
  while (true) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, MillisLeft(deadline));
    if (r > 0) return true;
    if (r == 0) return false;
    if (errno != EINTR) throw ConnectionLost{std::string("poll: ") + std::strerror(errno)};
  }
}

}  // namespace

// One connection: a non-blocking socket, with an OpenSSL session over it
// when TLS is on. Send and Recv move whole buffers or throw (ConnectionLost:
// retryable; RpcError kDeadline).
class RpcClient::Link {
 public:
  explicit Link(int fd) : fd_(fd) {}
  ~Link() {
    if (ssl_) SSL_free(ssl_);
    ::close(fd_);
  }
  Link(const Link&) = delete;
  Link& operator=(const Link&) = delete;

  // The TLS handshake; the server's certificate must verify against the
  // context's trust (and name `host` when the trust is a CA).
  void StartTls(const TlsClientContext& context, const std::string& host, Clock::time_point deadline) {
    ssl_ = SSL_new(context.get());
    PRLM_CHECK_MSG(ssl_ != nullptr, "SSL_new: " << TakeTlsErrors());
    SSL_set_fd(ssl_, fd_);
    if (context.check_host_name()) SSL_set1_host(ssl_, host.c_str());
    while (true) {
      const int r = SSL_connect(ssl_);
      if (r == 1) return;
      const int error = SSL_get_error(ssl_, r);
      const long result = SSL_get_verify_result(ssl_);
      if (error == SSL_ERROR_SSL && result != X509_V_OK) {
        const bool wrong_name = result == X509_V_ERR_HOSTNAME_MISMATCH || result == X509_V_ERR_IP_ADDRESS_MISMATCH;
        TakeTlsErrors();
        throw RpcError(
            RpcError::kProtocol,
            "the server's TLS certificate did not verify: " + std::string(X509_verify_cert_error_string(result)) +
                (wrong_name ? " (it does not name '" + host + "'; dial a name it carries)"
                            : std::string(" (trust the server's own certificate or its CA's: --tls-ca)")));
      }
      WaitOrThrow(error, "the TLS handshake", deadline);
    }
  }

  // The TLS channel's binding for the secret's proofs ("" without TLS).
  std::string ChannelBinding() const { return ssl_ ? TlsChannelBinding(ssl_) : std::string(); }

  void Send(const std::string& data, Clock::time_point deadline) {
    size_t sent = 0;
    while (sent < data.size()) {
      if (ssl_) {
        size_t n = 0;
        const int r = SSL_write_ex(ssl_, data.data() + sent, data.size() - sent, &n);
        if (r == 1) {
          sent += n;
          continue;
        }
        WaitOrThrow(SSL_get_error(ssl_, r), "sending", deadline);
        continue;
      }
      const ssize_t n = ::send(fd_, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
      if (n > 0) {
        sent += static_cast<size_t>(n);
        continue;
      }
      if (n < 0 && errno == EINTR) continue;
      if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        if (!WaitFor(fd_, POLLOUT, deadline)) throw RpcError(RpcError::kDeadline, "deadline passed while sending");
        continue;
      }
      throw ConnectionLost{std::string("send: ") + std::strerror(errno)};
    }
  }

  void Recv(uint8_t* out, size_t size, Clock::time_point deadline) {
    size_t got = 0;
    while (got < size) {
      if (ssl_) {
        size_t n = 0;
        const int r = SSL_read_ex(ssl_, out + got, size - got, &n);
        if (r == 1) {
          got += n;
          continue;
        }
        WaitOrThrow(SSL_get_error(ssl_, r), "waiting for the reply", deadline);
        continue;
      }
      const ssize_t n = ::recv(fd_, out + got, size - got, 0);
      if (n > 0) {
        got += static_cast<size_t>(n);
        continue;
      }
      if (n == 0) throw ConnectionLost{"connection closed by the server"};
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) {
        if (!WaitFor(fd_, POLLIN, deadline))
          throw RpcError(RpcError::kDeadline, "deadline passed waiting for the reply");
        continue;
      }
      throw ConnectionLost{std::string("recv: ") + std::strerror(errno)};
    }
  }

 private:
  // After an OpenSSL call that did not complete: waits for the socket when
  // it asks to, else throws what happened.
  void WaitOrThrow(int ssl_error, const char* doing, Clock::time_point deadline) {
    if (ssl_error == SSL_ERROR_WANT_READ || ssl_error == SSL_ERROR_WANT_WRITE) {
      if (!WaitFor(fd_, ssl_error == SSL_ERROR_WANT_READ ? POLLIN : POLLOUT, deadline))
        throw RpcError(RpcError::kDeadline, std::string("deadline passed ") + doing);
      return;
    }
    const std::string detail = TakeTlsErrors();
    if (ssl_error == SSL_ERROR_ZERO_RETURN || (ssl_error == SSL_ERROR_SYSCALL && detail.empty()))
      throw ConnectionLost{"connection closed by the server"};
    throw ConnectionLost{std::string("TLS error ") + doing + ": " + (detail.empty() ? std::strerror(errno) : detail)};
  }

  int fd_;
  SSL* ssl_ = nullptr;
};

Endpoint ParseEndpoint(const std::string& text) {
  const size_t colon = text.rfind(':');
  PRLM_REQUIRE(colon != std::string::npos && colon > 0 && colon + 1 < text.size(),
               "bad server address '" << text << "': expected HOST:PORT");
  const std::string port = text.substr(colon + 1);
  PRLM_REQUIRE(port.find_first_not_of("0123456789") == std::string::npos && port.size() <= 5 && std::stoi(port) > 0 &&
                   std::stoi(port) < 65536,
               "bad port in server address '" << text << "'");
  return Endpoint{text.substr(0, colon), static_cast<uint16_t>(std::stoi(port))};
}

std::vector<Endpoint> ParseEndpoints(const std::string& text) {
  std::vector<Endpoint> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    out.push_back(ParseEndpoint(text.substr(start, comma - start)));
    start = comma + 1;
  }
  return out;
}

RpcClient::RpcClient(Endpoint endpoint, ClientOptions options) : endpoint_(std::move(endpoint)), options_(options) {
  PRLM_REQUIRE(options_.attempts >= 1, "RpcClient: attempts must be >= 1");
  PRLM_REQUIRE(!options_.tls || options_.tls_trust.enabled() || !options_.secret.empty(),
               "TLS without a trusted certificate needs the job secret: it is what proves the server");
  PRLM_REQUIRE(options_.tls || !options_.tls_trust.enabled(), "a TLS trust was given with TLS off");
  if (options_.tls) tls_ = std::make_unique<TlsClientContext>(options_.tls_trust);
}

RpcClient::~RpcClient() = default;

std::unique_ptr<RpcClient::Link> RpcClient::Connect(Clock::time_point deadline) {
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* res = nullptr;
  const int rc = ::getaddrinfo(endpoint_.host.c_str(), std::to_string(endpoint_.port).c_str(), &hints, &res);
  if (rc != 0) throw ConnectionLost{std::string("cannot resolve host: ") + ::gai_strerror(rc)};
  std::string last_error = "no address";
  const auto connect_deadline = std::min(
      deadline, Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(options_.connect_timeout_s * 1000)));
  for (addrinfo* a = res; a; a = a->ai_next) {
    const int fd = ::socket(a->ai_family, a->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, a->ai_protocol);
    if (fd < 0) {
      last_error = std::strerror(errno);
      continue;
    }
    int one = 1;
    ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (::connect(fd, a->ai_addr, a->ai_addrlen) == 0 ||
        (errno == EINPROGRESS && WaitFor(fd, POLLOUT, connect_deadline))) {
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      if (err == 0) {
        ::freeaddrinfo(res);
        auto link = std::make_unique<Link>(fd);
        if (tls_) link->StartTls(*tls_, endpoint_.host, deadline);
        return link;
      }
      last_error = std::strerror(err);
    } else {
      last_error = errno == EINPROGRESS ? "connect timed out" : std::strerror(errno);
    }
    ::close(fd);
  }
  ::freeaddrinfo(res);
  throw ConnectionLost{"cannot connect: " + last_error};
}

void RpcClient::Authenticate(Link& link, Clock::time_point deadline) {
  const std::string client_nonce = RandomBytes(kNonceBytes), channel = link.ChannelBinding();
  link.Send(ClientHello(client_nonce), deadline);
  std::string proof(kServerProofBytes, '\0');
  link.Recv(reinterpret_cast<uint8_t*>(proof.data()), proof.size(), deadline);
  const std::string server_nonce = VerifyServerProof(options_.secret, client_nonce, proof, channel);
  if (server_nonce.empty()) {
    throw RpcError(RpcError::kProtocol, endpoint_.ToString() +
                                            " did not prove the job secret (a different secret, not a prlm service" +
                                            (tls_ ? ", or a machine in the middle of the TLS connection)" : ")"));
  }
  link.Send(ClientProof(options_.secret, client_nonce, server_nonce, channel), deadline);
}

void RpcClient::Release(std::unique_ptr<Link> link) {
  std::lock_guard<std::mutex> lock(mu_);
  if (idle_.size() < options_.max_idle_connections) idle_.push_back(std::move(link));
}

RpcClient::Response RpcClient::Call(uint16_t type, const std::string& payload, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  std::string last_error;
  double backoff = options_.backoff_s;
  for (int attempt = 0; attempt < options_.attempts; ++attempt) {
    if (attempt > 0) {
      const auto wake = Clock::now() + std::chrono::milliseconds(static_cast<int64_t>(backoff * 1000));
      if (wake >= deadline) break;
      std::this_thread::sleep_until(wake);
      backoff *= 2;
    }
    std::unique_ptr<Link> link;  // closed when dropped: on every error, a late reply would desync it
    uint64_t request_id;
    {
      std::lock_guard<std::mutex> lock(mu_);
      request_id = next_request_id_++;
      if (!idle_.empty()) {
        link = std::move(idle_.back());
        idle_.pop_back();
      }
    }
    try {
      if (!link) {
        link = Connect(deadline);
        if (!options_.secret.empty()) Authenticate(*link, deadline);
      }
      link->Send(EncodeFrame(type, request_id, payload), deadline);
      uint8_t header_bytes[kFrameHeaderBytes];
      link->Recv(header_bytes, kFrameHeaderBytes, deadline);
      FrameHeader header;
      const HeaderStatus status = DecodeHeader(header_bytes, options_.max_frame_bytes, &header);
      if (status != HeaderStatus::kOk || header.request_id != request_id) {
        throw RpcError(RpcError::kProtocol, "bad reply frame from " + endpoint_.ToString() +
                                                (status == HeaderStatus::kTooLarge ? " (over the size limit)" : ""));
      }
      Response response{header.type, std::string(header.length, '\0')};
      link->Recv(reinterpret_cast<uint8_t*>(response.payload.data()), header.length, deadline);
      Release(std::move(link));
      if (response.type == kErrorReply) {
        proto::ErrorReply err;
        err.ParseFromString(response.payload);
        throw RpcError(RpcError::kRemote, endpoint_.ToString() + ": " + err.message());
      }
      return response;
    } catch (const ConnectionLost& e) {
      last_error = e.what;
    } catch (const RpcError& e) {
      if (e.kind() == RpcError::kDeadline)
        throw RpcError(RpcError::kDeadline,
                       endpoint_.ToString() + ": " + e.what() + " (" + std::to_string(timeout.count()) + " ms)");
      throw;
    }
  }
  if (Clock::now() >= deadline)
    throw RpcError(RpcError::kDeadline, endpoint_.ToString() + ": deadline of " + std::to_string(timeout.count()) +
                                            " ms passed; last error: " + last_error);
  // A server that asks for the job secret closes a connection that does not
  // bring it (and one without a secret closes a handshake): say so.
  std::string hint;
  if (last_error == "connection closed by the server") {
    hint = options_.secret.empty() ? "; the server may require the job secret (--secret-file)"
                                   : "; the server may not share this secret, or run without one";
    hint += tls_ ? ", or it may not speak TLS (a server run with --no-tls or net.tls=false)"
                 : ", or it may speak TLS (the default: drop --no-tls)";
  }
  throw RpcError(RpcError::kUnavailable, endpoint_.ToString() + ": " + last_error + " (after " +
                                             std::to_string(options_.attempts) + " attempts)" + hint);
}

}  // namespace prlm::net
