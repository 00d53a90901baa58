// TLS for the services (net/tls.h), in the `security` test group:
//  - identities: a self-signed pair checks; a crossed key, a non-PEM
//    certificate, a group-readable key file, an overwrite are refused;
//  - on the wire: through a recording relay, a TLS connection shows neither
//    the request's text nor the secret handshake's magic (and the same relay
//    sees both without TLS, so the check can fail), also when the client
//    trusts no certificate and the secret proves the server;
//  - a machine in the middle that ends TLS on both sides and relays the
//    handshake is caught by the channel binding: no request is sent;
//  - refusals: a client without TLS, one pinning another certificate, random
//    bytes and a peer that stalls in the TLS handshake are refused and
//    counted (tls_failed) while an authorised client is served every round;
//  - CA trust (a CA and a leaf for "localhost" made with the openssl tool):
//    the certificate must name the host dialled.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <sys/stat.h>

#include <atomic>
#include <functional>
#include <future>
#include <random>
#include <thread>

#include "common/net/handshake.h"
#include "common/net/message_types.h"
#include "common/net/rpc_client.h"
#include "common/net/tls.h"
#include "common/util/file.h"
#include "tests/server_test_util.h"
#include "tests/test_util.h"

namespace prlm::net {
namespace {

using testing::ExpectErrorContaining;

constexpr uint16_t kEcho = 200;

ServerOptions TlsServerOptions(const std::string& secret, const TlsIdentity& identity, double idle_timeout_s = 120) {
  ServerOptions o = SecureServer::Options(secret, idle_timeout_s);
  o.tls = identity;
  return o;
}

ClientOptions TlsClientOptions(const std::string& secret, const TlsIdentity& pinned) {
  ClientOptions o;
  o.secret = secret;
  o.tls = true;
  o.tls_trust = TlsTrust{pinned.certificate_pem};
  o.attempts = 1;
  return o;
}

// A server that echoes kEcho payloads.
std::unique_ptr<SecureServer> StartEcho(ServerOptions o) {
  return std::make_unique<SecureServer>(std::move(o), [](RpcServer& s) {
    s.Handle(kEcho, [](const std::string& payload) { return Reply{kEcho + 1, payload}; });
  });
}

// A relay on loopback for one client connection: it accepts the client,
// then `body(client, &recorded)` moves the bytes (and records what it sees)
// until either side closes.
class OneConnectionRelay {
 public:
  using Body = std::function<void(int client, std::string* recorded)>;
  explicit OneConnectionRelay(Body body) {
    listener_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a = LoopbackAddress(0);
    EXPECT_EQ(::bind(listener_, reinterpret_cast<sockaddr*>(&a), sizeof a), 0);
    EXPECT_EQ(::listen(listener_, 1), 0);
    socklen_t len = sizeof a;
    ::getsockname(listener_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this, body] {
      const int client = ::accept(listener_, nullptr, nullptr);
      body(client, &recorded_);
      ::close(client);
    });
  }
  ~OneConnectionRelay() {
    if (thread_.joinable()) thread_.join();
    ::close(listener_);
  }
  uint16_t port() const { return port_; }
  // What the relay recorded, once the connection has ended.
  const std::string& Recorded() {
    if (thread_.joinable()) thread_.join();
    return recorded_;
  }

 private:
  int listener_ = -1;
  uint16_t port_ = 0;
  std::thread thread_;
  std::string recorded_;
};

// Records every byte in both directions between one client and the server.
class RecordingRelay : public OneConnectionRelay {
 public:
  explicit RecordingRelay(uint16_t server_port)
      : OneConnectionRelay([server_port](int client, std::string* wire) { Relay(client, server_port, wire); }) {}
  const std::string& Wire() { return Recorded(); }

 private:
  static void Relay(int client, uint16_t server_port, std::string* wire) {
    RawConnection upstream(server_port);
    const int server = upstream.fd();
    pollfd fds[2] = {{client, POLLIN, 0}, {server, POLLIN, 0}};
    char buf[4096];
    while (::poll(fds, 2, 10000) > 0) {
      bool open = true;
      for (int i = 0; i < 2 && open; ++i) {
        if (!(fds[i].revents & (POLLIN | POLLHUP | POLLERR))) continue;
        const ssize_t n = ::recv(fds[i].fd, buf, sizeof buf, 0);
        if (n <= 0)
          open = false;
        else {
          wire->append(buf, static_cast<size_t>(n));
          ::send(fds[1 - i].fd, buf, static_cast<size_t>(n), MSG_NOSIGNAL);
        }
      }
      if (!open) break;
    }
  }
};

// A machine in the middle: it ends the client's TLS with a certificate of
// its own, opens its own TLS connection to the server (trusting anything),
// and relays the plaintext between them, recording it. It holds no secret.
class TlsTerminatingRelay : public OneConnectionRelay {
 public:
  explicit TlsTerminatingRelay(uint16_t server_port)
      : OneConnectionRelay(
            [server_port](int client, std::string* plaintext) { Relay(client, server_port, plaintext); }) {}
  const std::string& Plaintext() { return Recorded(); }

 private:
  static SSL_CTX* ServerContext(const TlsIdentity& identity) {
    SSL_CTX* ctx = SSL_CTX_new(TLS_server_method());
    BIO* cert_bio = BIO_new_mem_buf(identity.certificate_pem.data(), static_cast<int>(identity.certificate_pem.size()));
    BIO* key_bio = BIO_new_mem_buf(identity.private_key_pem.data(), static_cast<int>(identity.private_key_pem.size()));
    X509* cert = PEM_read_bio_X509(cert_bio, nullptr, nullptr, nullptr);
    EVP_PKEY* key = PEM_read_bio_PrivateKey(key_bio, nullptr, nullptr, nullptr);
    EXPECT_EQ(SSL_CTX_use_certificate(ctx, cert), 1);
    EXPECT_EQ(SSL_CTX_use_PrivateKey(ctx, key), 1);
    SSL_CTX_set_num_tickets(ctx, 0);
    X509_free(cert);
    EVP_PKEY_free(key);
    BIO_free(cert_bio);
    BIO_free(key_bio);
    return ctx;
  }

  static void Relay(int client, uint16_t server_port, std::string* plaintext) {
    // 1. TLS with the client, under the relay's own certificate.
    SSL_CTX* server_side = ServerContext(MakeSelfSignedIdentity("localhost"));
    SSL* down = SSL_new(server_side);
    SSL_set_fd(down, client);
    const bool down_ok = SSL_accept(down) == 1;
    // 2. TLS with the server, trusting whatever it shows.
    RawConnection upstream(server_port);
    TlsClientContext client_side(TlsTrust{});
    SSL* up = SSL_new(client_side.get());
    SSL_set_fd(up, upstream.fd());
    const bool up_ok = SSL_connect(up) == 1;
    // 3. Plaintext both ways until either side closes.
    if (down_ok && up_ok) {
      ::fcntl(client, F_SETFL, O_NONBLOCK);
      ::fcntl(upstream.fd(), F_SETFL, O_NONBLOCK);
      SSL* ends[2] = {down, up};
      pollfd fds[2] = {{client, POLLIN, 0}, {upstream.fd(), POLLIN, 0}};
      char buf[4096];
      for (bool open = true; open && ::poll(fds, 2, 10000) > 0;) {
        for (int i = 0; i < 2 && open; ++i) {
          int n;
          while ((n = SSL_read(ends[i], buf, sizeof buf)) > 0) {
            plaintext->append(buf, static_cast<size_t>(n));
            SSL_write(ends[1 - i], buf, n);
          }
          const int error = SSL_get_error(ends[i], n);
          open = error == SSL_ERROR_WANT_READ || error == SSL_ERROR_WANT_WRITE;
        }
      }
    }
    ERR_clear_error();
    SSL_free(up);
    SSL_free(down);
    SSL_CTX_free(server_side);
  }
};

// ------------------------------------------------------------- identities

TEST(Tls, IdentitiesAreCheckedAndTheirKeysKeptPrivate) {
  const TlsIdentity a = MakeSelfSignedIdentity("node-1"), b = MakeSelfSignedIdentity("node-2");
  EXPECT_NE(a.certificate_pem.find("-----BEGIN CERTIFICATE-----"), std::string::npos);
  EXPECT_NE(a.certificate_pem, b.certificate_pem);
  CheckTlsIdentity(a, "a");
  ExpectErrorContaining(
      [&] {
        CheckTlsIdentity(TlsIdentity{a.certificate_pem, b.private_key_pem}, "crossed");
      },
      {"crossed", "does not belong to the certificate"});
  ExpectErrorContaining(
      [&] {
        CheckTlsIdentity(TlsIdentity{"not a certificate", a.private_key_pem}, "junk");
      },
      {"junk", "not a PEM certificate"});
  ExpectErrorContaining(
      [&] {
        CheckTlsIdentity(TlsIdentity{a.certificate_pem, "-----BEGIN PRIVATE KEY-----\nAA\n"}, "k");
      },
      {"k", "not an unencrypted PEM key"});
  prlm::testing::TempDir dir;
  WriteNewTlsIdentity(a, dir / "cert.pem", dir / "key.pem");
  struct stat st;
  ASSERT_EQ(::stat((dir / "key.pem").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  const TlsIdentity read = ReadTlsIdentity(dir / "cert.pem", dir / "key.pem");
  EXPECT_EQ(read.certificate_pem, a.certificate_pem);
  EXPECT_EQ(read.private_key_pem, a.private_key_pem);
  ExpectErrorContaining([&] { WriteNewTlsIdentity(b, dir / "cert2.pem", dir / "key.pem"); },
                        {dir / "key.pem", "never overwritten"});
  ::chmod((dir / "key.pem").c_str(), 0644);
  ExpectErrorContaining([&] { ReadTlsIdentity(dir / "cert.pem", dir / "key.pem"); }, {"0644", "chmod 600"});
  prlm::testing::WriteBytes(dir / "empty.pem", "nothing here");
  ExpectErrorContaining([&] { ReadTlsTrust(dir / "empty.pem"); }, {dir / "empty.pem", "no PEM certificate"});
}

// ------------------------------------------------------------- on the wire

TEST(Tls, NothingOfARequestOrTheHandshakeCrossesTheWireInTheClear) {
  const std::string secret = NewSecret(), profile = "PROFILE-TEXT: my grandmother's recipe for plum cake";
  const TlsIdentity identity = MakeSelfSignedIdentity("localhost");
  for (const bool tls : {false, true}) {
    auto s = StartEcho(tls ? TlsServerOptions(secret, identity) : SecureServer::Options(secret, 120));
    RecordingRelay relay(s->server.port());
    {
      ClientOptions o = TlsClientOptions(secret, identity);
      if (!tls) o = ClientOptions{.secret = secret};
      RpcClient client({"127.0.0.1", relay.port()}, o);
      const auto reply = client.Call(kEcho, profile, std::chrono::seconds(5));
      EXPECT_EQ(reply.payload, profile);
    }  // the client closes its connection: the relay ends
    const std::string& wire = relay.Wire();
    EXPECT_GT(wire.size(), 2 * profile.size());
    EXPECT_EQ(wire.find(profile) != std::string::npos, !tls) << (tls ? "TLS" : "plain");
    EXPECT_EQ(wire.find("PRLMAUTH") != std::string::npos, !tls) << (tls ? "TLS" : "plain");
    EXPECT_EQ(s->Counter("authenticated"), 1u);
    EXPECT_EQ(s->Counter("tls_failed"), 0u);
  }
}

// The standalone services' default: TLS with a certificate made at start,
// which the client does not trust; the secret proves the server instead.
TEST(Tls, WithTheSecretAnUntrustedCertificateStillHidesTheWire) {
  const std::string secret = NewSecret(), profile = "PROFILE-TEXT: the diary entry of 3 May";
  auto s = StartEcho(TlsServerOptions(secret, MakeSelfSignedIdentity("somewhere-else")));
  RecordingRelay relay(s->server.port());
  {
    RpcClient client({"127.0.0.1", relay.port()}, ClientOptions{.secret = secret, .tls = true});
    EXPECT_EQ(client.Call(kEcho, profile, std::chrono::seconds(5)).payload, profile);
  }
  const std::string& wire = relay.Wire();
  EXPECT_GT(wire.size(), 2 * profile.size());
  EXPECT_EQ(wire.find(profile), std::string::npos);
  EXPECT_EQ(wire.find("PRLMAUTH"), std::string::npos);
  EXPECT_EQ(s->Counter("authenticated"), 1u);
  // Without a secret nothing would prove the server: refused up front.
  ExpectErrorContaining(
      [] {
        RpcClient({"127.0.0.1", 1}, ClientOptions{.tls = true});
      },
      {"needs the job secret", "proves the server"});
}

// A machine in the middle of such a connection relays the handshake, but the
// server's proof is bound to the TLS channel it was made in (the relay's
// second one), so the client refuses it and never sends its request.
TEST(Tls, AMachineInTheMiddleOfAnUntrustedTlsConnectionIsCaught) {
  const std::string secret = NewSecret(), profile = "PROFILE-TEXT: a letter to my sister";
  auto s = StartEcho(TlsServerOptions(secret, MakeSelfSignedIdentity("localhost")));
  TlsTerminatingRelay relay(s->server.port());
  ClientOptions o{.secret = secret, .tls = true};
  o.attempts = 1;
  {
    RpcClient client({"127.0.0.1", relay.port()}, o);
    try {
      client.Call(kEcho, profile, std::chrono::seconds(5));
      ADD_FAILURE() << "the client went on through a machine in the middle";
    } catch (const RpcError& e) {
      EXPECT_EQ(e.kind(), RpcError::kProtocol);
      EXPECT_NE(std::string(e.what()).find("a machine in the middle"), std::string::npos) << e.what();
    }
  }
  const std::string& plaintext = relay.Plaintext();
  EXPECT_NE(plaintext.find("PRLMAUTH"), std::string::npos) << "the relay did pass the handshake along";
  EXPECT_EQ(plaintext.find(profile), std::string::npos) << "the request never left the client";
  EXPECT_EQ(s->CounterReaching("handshake_failed", 1), 1u) << "the server saw no client proof either";
  EXPECT_EQ(s->Counter("frames_served"), 0u);
}

// ------------------------------------------------------------- refusals

TEST(Tls, PeersWithoutTheTrustedCertificateOrTlsAreRefusedWhileOthersAreServed) {
  const std::string secret = NewSecret();
  const TlsIdentity identity = MakeSelfSignedIdentity("localhost"), other = MakeSelfSignedIdentity("localhost");
  auto s = StartEcho(TlsServerOptions(secret, identity));
  const uint16_t port = s->server.port();
  ClientOptions good_options = TlsClientOptions(secret, identity);
  good_options.attempts = 3;
  RpcClient good({"127.0.0.1", port}, good_options);
  ClientOptions plain = TlsClientOptions(secret, identity);
  plain.tls = false;
  plain.tls_trust = TlsTrust{};
  RpcClient without_tls({"127.0.0.1", port}, plain);
  RpcClient pinning_another({"127.0.0.1", port}, TlsClientOptions(secret, other));
  std::mt19937 rng(11);
  const int kRounds = 20;
  for (int round = 0; round < kRounds; ++round) {
    // 1. No TLS: the secret's hello is not a TLS ClientHello.
    try {
      without_tls.Call(kEcho, "x", std::chrono::seconds(2));
      ADD_FAILURE() << "a client without TLS was served";
    } catch (const RpcError& e) {
      if (round == 0) {
        EXPECT_NE(std::string(e.what()).find("may speak TLS (the default: drop --no-tls)"), std::string::npos)
            << e.what();
      }
    }
    // 2. Another pinned certificate: the client refuses the server, and says so.
    try {
      pinning_another.Call(kEcho, "x", std::chrono::seconds(2));
      ADD_FAILURE() << "a client trusting another certificate went on";
    } catch (const RpcError& e) {
      EXPECT_EQ(e.kind(), RpcError::kProtocol);
      if (round == 0) {
        EXPECT_NE(std::string(e.what()).find("did not verify"), std::string::npos) << e.what();
      }
    }
    // 3. Random bytes.
    {
      std::string noise(1 + rng() % 300, '\0');
      for (auto& ch : noise) ch = static_cast<char>(rng());
      RawConnection c(port);
      c.Send(noise);
      EXPECT_TRUE(c.ClosedByServer());
    }
    // 4. The authorised client, every round.
    EXPECT_EQ(good.Call(kEcho, "hello", std::chrono::seconds(5)).payload, "hello");
  }
  EXPECT_EQ(s->CounterReaching("tls_failed", 3 * kRounds), 3u * kRounds);
  EXPECT_EQ(s->Counter("authenticated"), 1u) << "the good client's one pooled connection";
  EXPECT_EQ(s->Counter("frames_served"), static_cast<uint64_t>(kRounds));
  EXPECT_EQ(s->Counter("handshake_failed"), 0u) << "nothing reached the secret's handshake";
}

TEST(Tls, APeerStalledInTheTlsHandshakeIsClosedAfterTheIdleTimeout) {
  auto s = StartEcho(TlsServerOptions(NewSecret(), MakeSelfSignedIdentity("localhost"), /*idle_timeout_s=*/0.3));
  RawConnection c(s->server.port());
  c.Send(std::string("\x16\x03\x01", 3));  // the start of a TLS record, then nothing
  EXPECT_TRUE(c.ClosedByServer());
  EXPECT_EQ(s->CounterReaching("tls_failed", 1), 1u);
}

// ------------------------------------------------------------- CA trust

// A drain (SIGTERM, Stop) that begins between a request and its answer: the
// answer still reaches the client, then the server ends. The drain used to
// cut the session's pending read short, leaving the IO loop no work: it
// returned, and the owed reply was never written (a rollout gateway's STOP,
// lost about 1 run in 10 on a loaded machine).
TEST(Tls, AReplyOwedWhenTheDrainBeginsIsStillDelivered) {
  const std::string secret = NewSecret();
  const TlsIdentity identity = MakeSelfSignedIdentity("localhost");
  for (const bool tls : {false, true}) {
    RpcServer server(tls ? TlsServerOptions(secret, identity) : SecureServer::Options(secret, 120));
    std::promise<Responder> held;
    server.HandleAsync(kEcho, [&](std::string, Responder respond) { held.set_value(respond); });
    std::thread run([&] { server.Run(); });
    ClientOptions o = TlsClientOptions(secret, identity);
    if (!tls) o = ClientOptions{.attempts = 1, .secret = secret};
    RpcClient client({"127.0.0.1", server.port()}, o);
    auto call = std::async(std::launch::async, [&] { return client.Call(kEcho, "x", std::chrono::seconds(10)); });
    Responder respond = held.get_future().get();
    server.Stop();
    std::this_thread::sleep_for(std::chrono::milliseconds(300));  // the drain has begun on the IO thread
    respond(Reply{kEcho + 1, "answered after the drain began"});
    std::string got;
    try {
      got = call.get().payload;
    } catch (const std::exception& e) {
      got = e.what();
    }
    run.join();
    EXPECT_EQ(got, "answered after the drain began") << (tls ? "TLS" : "plain");
    EXPECT_EQ(server.Counters().at("frames_served"), 1u);
  }
}

TEST(Tls, ACaTrustedCertificateMustNameTheHostDialled) {
  prlm::testing::TempDir dir;
  const std::string d = dir.str();
  // A CA (the openssl tool's default request extensions make it CA:TRUE)
  // and a leaf it signs for "localhost".
  const auto r = prlm::testing::Shell(
      "cd " + d +
      " && umask 077 && printf 'subjectAltName=DNS:localhost\\n' > leaf.ext && "
      "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key -out ca.pem "
      "-subj /CN=prlm-test-ca -days 2 && "
      "openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout leaf.key -out leaf.csr "
      "-subj /CN=localhost && "
      "openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca.key -CAcreateserial -days 2 -extfile leaf.ext "
      "-out leaf.pem");
  ASSERT_EQ(r.code, 0) << r.out;
  const std::string secret = NewSecret();
  auto s = StartEcho(TlsServerOptions(secret, ReadTlsIdentity(d + "/leaf.pem", d + "/leaf.key")));
  ClientOptions o;
  o.secret = secret;
  o.tls = true;
  o.tls_trust = ReadTlsTrust(d + "/ca.pem");
  o.attempts = 1;
  ASSERT_TRUE(TlsClientContext(o.tls_trust).check_host_name());
  RpcClient by_name({"localhost", s->server.port()}, o);
  EXPECT_EQ(by_name.Call(kEcho, "hi", std::chrono::seconds(5)).payload, "hi");
  RpcClient by_address({"127.0.0.1", s->server.port()}, o);
  try {
    by_address.Call(kEcho, "hi", std::chrono::seconds(5));
    ADD_FAILURE() << "a certificate for localhost was accepted for 127.0.0.1";
  } catch (const RpcError& e) {
    EXPECT_EQ(e.kind(), RpcError::kProtocol);
    EXPECT_NE(std::string(e.what()).find("does not name '127.0.0.1'"), std::string::npos) << e.what();
  }
  // Pinning the leaf itself checks no name.
  EXPECT_FALSE(TlsClientContext(ReadTlsTrust(d + "/leaf.pem")).check_host_name());
}

}  // namespace
}  // namespace prlm::net
