#include "common/net/rpc_server.h"

#include <utility>  // before Asio's coroutine headers (Boost 1.74 + g++ 12)

#include <boost/asio.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <deque>
#include <optional>
#include <set>
#include <thread>
#include <vector>

#include <spdlog/spdlog.h>

#include "common/net/handshake.h"
#include "common/net/tls.h"
#include "common/util/check.h"
#include "proto/net.pb.h"

namespace prlm::net {

namespace asio = boost::asio;
using asio::ip::tcp;

namespace {

enum Counter {
  kAccepted,
  kOpen,
  kServed,
  kErrorReplies,
  kBadMagic,
  kOversized,
  kUnknownType,
  kBadPayloadC,
  kTruncated,
  kIdleClosed,
  kRejectedDraining,
  kAuthenticated,
  kHandshakeFailed,
  kInFlightLimited,
  kTlsFailed,
  kBytesReceived,
  kBytesSent,
  kNumCounters
};
const char* const kCounterNames[kNumCounters] = {"connections_accepted", "connections_open",  "frames_served",
                                                 "error_replies",        "bad_magic",         "oversized",
                                                 "unknown_type",         "bad_payload",       "truncated",
                                                 "idle_closed",          "rejected_draining", "authenticated",
                                                 "handshake_failed",     "in_flight_limited", "tls_failed",
                                                 "bytes_received",       "bytes_sent"};

}  // namespace

// The reply slot of one request: the first Complete / Reject / Fail sends,
// the rest are ignored; dropping it unanswered sends an ErrorReply.
struct Responder::State {
  enum Outcome { kReply, kError, kBadPayload };
  uint64_t request_id = 0;
  std::function<void(std::string frame, Outcome)> finish;
  std::atomic<bool> done{false};

  void Complete(Reply reply) {
    if (done.exchange(true)) return;
    finish(EncodeFrame(reply.type, request_id, reply.payload), reply.type == kErrorReply ? kError : kReply);
  }
  void Fail(const std::string& message) {
    if (done.exchange(true)) return;
    proto::ErrorReply err;
    err.set_message(message);
    finish(EncodeFrame(kErrorReply, request_id, err.SerializeAsString()), kError);
  }
  void Reject() {
    if (done.exchange(true)) return;
    finish(std::string(), kBadPayload);
  }
  ~State() { Fail("internal error: the server dropped this request without a reply"); }
};

void Responder::operator()(Reply reply) const { state_->Complete(std::move(reply)); }
void Responder::RejectPayload() const { state_->Reject(); }

// One client connection. Lives on the IO thread; workers only post to it.
// With TLS every byte goes through `tls`, a layer over `socket`.
struct Connection : std::enable_shared_from_this<Connection> {
  explicit Connection(tcp::socket s) : socket(std::move(s)), watchdog(socket.get_executor()) {}
  tcp::socket socket;
  std::string peer;  // the peer's address, for logs
  std::optional<asio::ssl::stream<tcp::socket&>> tls;
  asio::steady_timer watchdog;
  std::deque<std::string> outbox;
  bool writing = false;
  bool closing = false;  // close once in_flight == 0 and the outbox is empty
  int in_flight = 0;
  size_t bytes_of_current_frame = 0;
  bool authenticating = false;  // in the handshake: the watchdog counts nothing itself

  void Close() {
    boost::system::error_code ec;
    socket.shutdown(tcp::socket::shutdown_both, ec);
    socket.close(ec);
    watchdog.cancel();
  }

  // Reads exactly buffer's size (through TLS when on).
  asio::awaitable<size_t> Read(asio::mutable_buffer buffer, boost::system::error_code& ec) {
    if (tls) co_return co_await asio::async_read(*tls, buffer, asio::redirect_error(asio::use_awaitable, ec));
    co_return co_await asio::async_read(socket, buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  asio::awaitable<void> Write(asio::const_buffer buffer, boost::system::error_code& ec) {
    if (tls)
      co_await asio::async_write(*tls, buffer, asio::redirect_error(asio::use_awaitable, ec));
    else
      co_await asio::async_write(socket, buffer, asio::redirect_error(asio::use_awaitable, ec));
  }
  template <class Done>
  void WriteThen(asio::const_buffer buffer, Done done) {
    if (tls)
      asio::async_write(*tls, buffer, std::move(done));
    else
      asio::async_write(socket, buffer, std::move(done));
  }
};

struct RpcServer::Impl {
  ServerOptions options;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  asio::signal_set signals{io};
  asio::thread_pool workers;
  std::map<uint16_t, AsyncHandler> handlers;
  std::vector<std::function<std::map<std::string, uint64_t>()>> counter_sources;
  std::set<std::shared_ptr<Connection>> connections;  // IO thread only
  std::atomic<uint64_t> counters[kNumCounters] = {};
  std::atomic<bool> draining{false};
  uint16_t bound_port = 0;
  std::map<std::string, std::chrono::steady_clock::time_point> refusal_logged;  // IO thread only

  std::optional<asio::ssl::context> tls;  // set when options.tls is

  explicit Impl(ServerOptions o) : options(std::move(o)), workers(std::max(1, options.worker_threads)) {
    if (!options.tls.enabled()) return;
    CheckTlsIdentity(options.tls, "the server's TLS identity");
    tls.emplace(asio::ssl::context::tls_server);
    SSL_CTX_set_min_proto_version(tls->native_handle(), TLS1_3_VERSION);
    tls->use_certificate_chain(asio::buffer(options.tls.certificate_pem));
    tls->use_private_key(asio::buffer(options.tls.private_key_pem), asio::ssl::context::pem);
  }

  void Count(Counter c, uint64_t n = 1) { counters[c].fetch_add(n, std::memory_order_relaxed); }

  void Send(const std::shared_ptr<Connection>& conn, std::string frame) {
    conn->outbox.push_back(std::move(frame));
    if (!conn->writing) WriteNext(conn);
  }

  void WriteNext(const std::shared_ptr<Connection>& conn) {
    if (conn->outbox.empty()) {
      conn->writing = false;
      MaybeFinish(conn);
      return;
    }
    conn->writing = true;
    conn->WriteThen(asio::buffer(conn->outbox.front()), [this, conn](boost::system::error_code ec, size_t) {
      conn->outbox.pop_front();
      if (ec) {
        conn->outbox.clear();
        conn->writing = false;
        conn->closing = true;
        MaybeFinish(conn);
        return;
      }
      WriteNext(conn);
    });
  }

  // Closes a connection marked closing once nothing is left to send.
  void MaybeFinish(const std::shared_ptr<Connection>& conn) {
    if (conn->closing && conn->in_flight == 0 && !conn->writing && conn->outbox.empty()) {
      conn->Close();
      if (connections.erase(conn)) counters[kOpen].fetch_sub(1);
      MaybeQuit();
    }
  }

  void MaybeQuit() {
    if (draining && connections.empty()) {
      signals.cancel();
      io.stop();
    }
  }

  // Ends a connection whose session is waiting for its next frame: at once
  // when nothing is owed, else once the owed replies are written (MaybeFinish).
  // Its pending read stays until then, so the IO loop still has work when
  // the reply comes; a frame that arrives meanwhile is refused (closing).
  void StopReading(const std::shared_ptr<Connection>& conn) {
    conn->closing = true;
    MaybeFinish(conn);
  }

  void CloseForBadInput(const std::shared_ptr<Connection>& conn, Counter why) {
    Count(why);
    conn->closing = true;
    // Stop reading; replies already owed are still written.
    boost::system::error_code ec;
    conn->socket.shutdown(tcp::socket::shutdown_receive, ec);
    MaybeFinish(conn);
  }

  void ArmWatchdog(const std::shared_ptr<Connection>& conn) {
    conn->watchdog.expires_after(std::chrono::milliseconds(static_cast<int64_t>(options.idle_timeout_s * 1000)));
    conn->watchdog.async_wait([this, weak = std::weak_ptr<Connection>(conn)](boost::system::error_code ec) {
      auto c = weak.lock();
      if (ec || !c || c->closing) return;
      // (A stalled handshake is counted as a refused one by Authenticate.)
      if (!c->authenticating) Count(c->bytes_of_current_frame ? kTruncated : kIdleClosed);
      StopReading(c);
    });
  }

  void Dispatch(const std::shared_ptr<Connection>& conn, const FrameHeader& header, std::string payload) {
    ++conn->in_flight;
    auto state = std::make_shared<Responder::State>();
    state->request_id = header.request_id;
    // The request counts as work for the IO loop until its reply is posted:
    // during a drain nothing else may be pending, and run() would return.
    auto owed = std::make_shared<asio::executor_work_guard<asio::io_context::executor_type>>(io.get_executor());
    state->finish = [this, conn, owed](std::string frame, Responder::State::Outcome outcome) {
      if (outcome == Responder::State::kError) Count(kErrorReplies);
      asio::post(io, [this, conn, owed, frame = std::move(frame), outcome]() mutable {
        owed->reset();  // posted: on the IO loop now (a write, if any, is its own work)
        --conn->in_flight;
        if (outcome == Responder::State::kBadPayload) {
          CloseForBadInput(conn, kBadPayloadC);
          return;
        }
        Count(kServed);
        Count(kBytesSent, frame.size());
        Send(conn, std::move(frame));
        MaybeFinish(conn);
      });
    };
    asio::post(workers, [this, type = header.type, payload = std::move(payload), state]() mutable {
      Responder respond(state);
      if (type == kStatsRequest) {
        proto::StatsReply stats;
        for (const auto& [k, v] : Counters()) (*stats.mutable_counters())[k] = v;
        respond(Reply{kStatsReply, stats.SerializeAsString()});
        return;
      }
      try {
        handlers.at(type)(std::move(payload), respond);
      } catch (const BadPayload&) {
        respond.RejectPayload();
      } catch (const std::exception& e) {
        state->Fail(e.what());
      }
    });
  }

  // A failed handshake: counted, logged at most once a minute per address.
  void RefuseHandshake(const std::shared_ptr<Connection>& conn, const char* why) {
    Count(kHandshakeFailed);
    LogRefusal(conn, why, counters[kHandshakeFailed].load());
  }

  void LogRefusal(const std::shared_ptr<Connection>& conn, const std::string& why, uint64_t so_far) {
    const std::string& address = conn->peer;
    const auto now = std::chrono::steady_clock::now();
    auto [it, first] = refusal_logged.try_emplace(address, now);
    if (first || now - it->second >= std::chrono::minutes(1)) {
      it->second = now;
      spdlog::warn("refused a connection from {}: {} ({} refused so far; at most one such line a minute per address)",
                   address, why, so_far);
    }
  }

  // The mutual challenge-response (handshake.h). True when the peer proved
  // the secret; otherwise the connection is refused and false returned.
  asio::awaitable<bool> Authenticate(std::shared_ptr<Connection> conn) {
    boost::system::error_code ec;
    ArmWatchdog(conn);
    conn->authenticating = true;
    // The magic first: a peer that sends a frame (a client without the
    // secret) is refused at once instead of waiting for a whole hello.
    std::string hello(kClientHelloBytes, '\0');
    co_await conn->Read(asio::buffer(hello.data(), kHelloMagicBytes), ec);
    if (!ec && IsHelloMagic(hello.substr(0, kHelloMagicBytes)))
      co_await conn->Read(asio::buffer(hello.data() + kHelloMagicBytes, kClientHelloBytes - kHelloMagicBytes), ec);
    const std::string client_nonce = ec ? "" : ParseClientHello(hello);
    if (client_nonce.empty()) {
      RefuseHandshake(conn, ec ? "no complete handshake" : "not a handshake (no or wrong secret?)");
      co_return false;
    }
    const std::string server_nonce = RandomBytes(kNonceBytes);
    const std::string channel = conn->tls ? TlsChannelBinding(conn->tls->native_handle()) : std::string();
    const std::string proof = ServerProof(options.secret, client_nonce, server_nonce, channel);
    co_await conn->Write(asio::buffer(proof), ec);
    std::string client_proof(kClientProofBytes, '\0');
    if (!ec) co_await conn->Read(asio::buffer(client_proof), ec);
    if (ec || !VerifyClientProof(options.secret, client_nonce, server_nonce, client_proof, channel)) {
      RefuseHandshake(conn, ec ? "the handshake stopped before the client's proof" : "wrong proof of the secret");
      co_return false;
    }
    conn->authenticating = false;
    Count(kAuthenticated);
    co_return true;
  }

  // The TLS handshake, under the idle watchdog. False (counted) when it fails.
  asio::awaitable<bool> StartTls(std::shared_ptr<Connection> conn) {
    ArmWatchdog(conn);
    conn->authenticating = true;
    conn->tls.emplace(conn->socket, *tls);
    boost::system::error_code ec;
    co_await conn->tls->async_handshake(asio::ssl::stream_base::server, asio::redirect_error(asio::use_awaitable, ec));
    conn->authenticating = false;
    if (ec) {
      Count(kTlsFailed);
      LogRefusal(conn,
                 ec == asio::error::operation_aborted ? std::string("the TLS handshake stalled past the idle timeout")
                                                      : "TLS handshake failed: " + ec.message(),
                 counters[kTlsFailed].load());
      co_return false;
    }
    co_return true;
  }

  asio::awaitable<void> Session(std::shared_ptr<Connection> conn) {
    uint8_t header_bytes[kFrameHeaderBytes];
    boost::system::error_code ec;
    if (tls && !co_await StartTls(conn)) conn->closing = true;
    if (!conn->closing && !options.secret.empty() && !co_await Authenticate(conn)) conn->closing = true;
    while (!conn->closing) {
      ArmWatchdog(conn);
      conn->bytes_of_current_frame = 0;
      // 1. The header. Reading the first byte alone tells an idle peer from a truncated frame.
      const size_t n = co_await conn->Read(asio::buffer(header_bytes, 1), ec);
      if (ec || n == 0) break;
      conn->bytes_of_current_frame = 1;
      co_await conn->Read(asio::buffer(header_bytes + 1, kFrameHeaderBytes - 1), ec);
      if (ec) {
        if (!conn->closing) Count(kTruncated);
        break;
      }
      FrameHeader header;
      const HeaderStatus status = DecodeHeader(header_bytes, options.max_frame_bytes, &header);
      if (status == HeaderStatus::kBadMagic) {
        CloseForBadInput(conn, kBadMagic);
        break;
      }
      if (status == HeaderStatus::kTooLarge) {
        CloseForBadInput(conn, kOversized);
        break;
      }
      // 2. The payload.
      std::string payload(header.length, '\0');
      if (header.length) {
        co_await conn->Read(asio::buffer(payload), ec);
        if (ec) {
          if (!conn->closing) Count(kTruncated);
          break;
        }
      }
      Count(kBytesReceived, kFrameHeaderBytes + header.length);
      // 3. Dispatch (unless unknown or draining).
      if (header.type != kStatsRequest && !handlers.count(header.type)) {
        CloseForBadInput(conn, kUnknownType);
        break;
      }
      if (draining || conn->closing) {  // a frame that came after the drain or the idle timeout began
        Count(kRejectedDraining);
        break;
      }
      if (conn->in_flight >= options.max_in_flight) {
        Count(kInFlightLimited);
        proto::ErrorReply err;
        err.set_message("too many requests in flight on this connection (the limit is " +
                        std::to_string(options.max_in_flight) + ")");
        Send(conn, EncodeFrame(kErrorReply, header.request_id, err.SerializeAsString()));
        continue;
      }
      Dispatch(conn, header, std::move(payload));
    }
    conn->watchdog.cancel();
    conn->closing = true;
    MaybeFinish(conn);
  }

  asio::awaitable<void> Listen() {
    while (true) {
      boost::system::error_code ec;
      tcp::socket socket = co_await acceptor.async_accept(asio::redirect_error(asio::use_awaitable, ec));
      if (ec) {
        if (!acceptor.is_open()) co_return;
        continue;  // e.g. EMFILE: keep serving the connections we have
      }
      socket.set_option(tcp::no_delay(true), ec);
      const auto remote = socket.remote_endpoint(ec);
      auto conn = std::make_shared<Connection>(std::move(socket));
      conn->peer = ec ? std::string("unknown peer") : remote.address().to_string();
      connections.insert(conn);
      Count(kAccepted);
      counters[kOpen].fetch_add(1);
      asio::co_spawn(io, Session(conn), asio::detached);
    }
  }

  void BeginDrain() {
    if (draining.exchange(true)) return;
    boost::system::error_code ec;
    acceptor.close(ec);
    for (auto conn : std::vector<std::shared_ptr<Connection>>(connections.begin(), connections.end()))
      StopReading(conn);
    MaybeQuit();
  }

  std::map<std::string, uint64_t> Counters() const {
    std::map<std::string, uint64_t> out;
    for (int i = 0; i < kNumCounters; ++i) out[kCounterNames[i]] = counters[i].load();
    for (const auto& source : counter_sources)
      for (const auto& [k, v] : source()) out[k] = v;
    return out;
  }
};

std::string AddressOf(const std::string& host) {
  asio::io_context io;
  tcp::resolver resolver(io);
  boost::system::error_code ec;
  const auto results = resolver.resolve(host, "", ec);
  PRLM_REQUIRE(!ec && !results.empty(), "cannot resolve host name '" << host << "' to an address to listen on"
                                                                     << (ec ? ": " + ec.message() : std::string())
                                                                     << " (set net.bind_host)");
  return results.begin()->endpoint().address().to_string();
}

RpcServer::RpcServer(ServerOptions options) : impl_(std::make_unique<Impl>(std::move(options))) {
  auto& o = impl_->options;
  boost::system::error_code ec;
  auto address = asio::ip::make_address(o.host, ec);
  PRLM_REQUIRE(!ec, "cannot parse host address '" << o.host << "': " << ec.message());
  tcp::endpoint endpoint(address, o.port);
  impl_->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl_->acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) impl_->acceptor.bind(endpoint, ec);
  if (!ec) impl_->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  PRLM_REQUIRE(!ec, "cannot listen on " << o.host << ":" << o.port << ": " << ec.message());
  impl_->bound_port = impl_->acceptor.local_endpoint().port();
}

RpcServer::~RpcServer() {
  Stop();
  impl_->workers.join();
}

void RpcServer::Handle(uint16_t type, Handler handler) {
  HandleAsync(type,
              [handler = std::move(handler)](std::string payload, Responder respond) { respond(handler(payload)); });
}

void RpcServer::HandleAsync(uint16_t type, AsyncHandler handler) {
  PRLM_CHECK(!IsReservedMessageType(type));
  impl_->handlers[type] = std::move(handler);
}

void RpcServer::AddCounters(std::function<std::map<std::string, uint64_t>()> source) {
  impl_->counter_sources.push_back(std::move(source));
}

void RpcServer::Run() {
  if (impl_->options.handle_signals) {
    impl_->signals.add(SIGTERM);
    impl_->signals.add(SIGINT);
    impl_->signals.async_wait([this](boost::system::error_code ec, int) {
      if (!ec) impl_->BeginDrain();
    });
  }
  asio::co_spawn(impl_->io, impl_->Listen(), asio::detached);
  impl_->io.run();
  impl_->workers.join();  // every handler has posted its reply by now
}

void RpcServer::Stop() {
  asio::post(impl_->io, [this] { impl_->BeginDrain(); });
}

uint16_t RpcServer::port() const { return impl_->bound_port; }

std::string RpcServer::CountersLine() const {
  std::string line;
  for (const auto& [name, value] : Counters()) line += " " + name + "=" + std::to_string(value);
  return line;
}

std::map<std::string, uint64_t> RpcServer::Counters() const { return impl_->Counters(); }

}  // namespace prlm::net
