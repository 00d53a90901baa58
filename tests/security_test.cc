// The `security` test group (ctest -L security): services that hold users'
// profiles serve only peers that prove the job secret.
//  - the handshake's messages (net/handshake.h) and secret files;
//  - a server with a secret, attacked 100 rounds each by clients without the
//    secret, with a wrong one, replaying a recorded handshake, sending a
//    request before the handshake, random bytes, truncated and oversized
//    hellos -- all refused with nothing parsed (counters), while an
//    authorised client is served in every round;
//  - a peer that stalls mid-handshake is closed after the idle timeout;
//  - the standalone commands refuse to start without --secret-file or
//    --insecure, refuse a group-readable secret file, and warn on --insecure.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <mutex>
#include <vector>
#include <random>
#include <thread>

#include "common/net/handshake.h"
#include "common/net/message_types.h"
#include "common/net/rpc_client.h"
#include "common/net/rpc_server.h"
#include "common/util/file.h"
#include "tests/server_test_util.h"
#include "tests/test_util.h"

namespace prlm::net {
namespace {

using testing::ExpectErrorContaining;

std::string StatsFrame(size_t padding = 0) { return EncodeFrame(kStatsRequest, 1, std::string(padding, 'x')); }

// ------------------------------------------------------------- the handshake

TEST(Handshake, ProofsVerifyOnlyWithTheSameSecretAndNonces) {
  const std::string secret = NewSecret(), other = NewSecret();
  ASSERT_EQ(secret.size(), kSecretBytes);
  EXPECT_NE(secret, other);
  const std::string cn = RandomBytes(kNonceBytes), sn = RandomBytes(kNonceBytes);
  EXPECT_EQ(ParseClientHello(ClientHello(cn)), cn);
  EXPECT_EQ(ParseClientHello(std::string(kClientHelloBytes, 'P')), "");
  EXPECT_EQ(ParseClientHello(ClientHello(cn).substr(1)), "");
  const std::string proof = ServerProof(secret, cn, sn);
  ASSERT_EQ(proof.size(), kServerProofBytes);
  EXPECT_EQ(VerifyServerProof(secret, cn, proof), sn);
  EXPECT_EQ(VerifyServerProof(other, cn, proof), "") << "a server without the secret is caught";
  EXPECT_EQ(VerifyServerProof(secret, RandomBytes(kNonceBytes), proof), "") << "bound to the client's nonce";
  const std::string client_proof = ClientProof(secret, cn, sn);
  EXPECT_TRUE(VerifyClientProof(secret, cn, sn, client_proof));
  EXPECT_FALSE(VerifyClientProof(secret, cn, RandomBytes(kNonceBytes), client_proof)) << "a replay";
  EXPECT_FALSE(VerifyClientProof(other, cn, sn, client_proof));
  EXPECT_NE(client_proof, proof.substr(8 + kNonceBytes)) << "the two directions' MACs differ";
}

TEST(Handshake, SecretFilesArePrivateAndNeverOverwritten) {
  prlm::testing::TempDir dir;
  const std::string path = dir / "secret";
  WriteNewSecretFile(path);
  struct stat st;
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(ReadSecretFile(path).size(), kSecretBytes);
  ExpectErrorContaining([&] { WriteNewSecretFile(path); }, {path, "never overwritten"});
  ::chmod(path.c_str(), 0640);
  ExpectErrorContaining([&] { ReadSecretFile(path); }, {path, "0640", "chmod 600"});
  prlm::testing::WriteBytes(dir / "short", "12345");
  ::chmod((dir / "short").c_str(), 0600);
  ExpectErrorContaining([&] { ReadSecretFile(dir / "short"); }, {"holds 5 bytes", "at least 16"});
  ExpectErrorContaining([&] { ReadSecretFile(dir / "missing"); }, {dir / "missing"});
}

// ------------------------------------------------------------------ attacks

TEST(Security, EveryUnauthenticatedPeerIsRefusedWhileAuthorisedClientsAreServed) {
  const std::string secret = NewSecret();
  SecureServer s(secret);
  const uint16_t port = s.server.port();
  ClientOptions good_options;
  good_options.secret = secret;
  RpcClient good({"127.0.0.1", port}, good_options);
  ClientOptions no_secret;
  no_secret.attempts = 1;
  RpcClient unauthenticated({"127.0.0.1", port}, no_secret);
  ClientOptions wrong = no_secret;
  wrong.secret = NewSecret();
  RpcClient impostor({"127.0.0.1", port}, wrong);

  // One authorised raw session, recorded for the replays.
  std::string recorded_hello, recorded_proof;
  {
    RawConnection c(port);
    const std::string cn = RandomBytes(kNonceBytes);
    recorded_hello = ClientHello(cn);
    c.Send(recorded_hello);
    const std::string sn = VerifyServerProof(secret, cn, c.Receive(kServerProofBytes));
    ASSERT_FALSE(sn.empty());
    recorded_proof = ClientProof(secret, cn, sn);
    c.Send(recorded_proof);
    c.Send(StatsFrame());
    EXPECT_EQ(c.Receive(kFrameHeaderBytes).size(), kFrameHeaderBytes) << "served after the handshake";
  }
  const uint64_t failed_before = s.Counter("handshake_failed");
  std::mt19937 rng(7);
  const int kRounds = 100;
  int refused_calls = 0;
  for (int round = 0; round < kRounds; ++round) {
    // 1. No secret: the client's first frame is not a handshake.
    try {
      unauthenticated.Call(kStatsRequest, std::string(64, 'x'), std::chrono::milliseconds(2000));
    } catch (const RpcError& e) {
      ++refused_calls;
      if (round == 0) {
        EXPECT_NE(std::string(e.what()).find("may require the job secret"), std::string::npos) << e.what();
      }
    }
    // 2. A wrong secret: the client sees the server's proof fail and stops.
    try {
      impostor.Call(kStatsRequest, "", std::chrono::milliseconds(2000));
    } catch (const RpcError& e) {
      ++refused_calls;
      if (round == 0) {
        EXPECT_EQ(e.kind(), RpcError::kProtocol) << e.what();
      }
    }
    // 3. A replayed handshake: the server's fresh nonce makes the old proof wrong.
    {
      RawConnection c(port);
      c.Send(recorded_hello);
      EXPECT_EQ(c.Receive(kServerProofBytes).size(), kServerProofBytes);
      c.Send(recorded_proof);
      c.Send(StatsFrame());
      EXPECT_TRUE(c.ClosedByServer()) << "round " << round;
    }
    // 4. A request before the handshake, long or shorter than a hello
    //    (refused on its first bytes, not after a wait).
    for (size_t padding : {size_t{64}, size_t{0}}) {
      RawConnection c(port);
      c.Send(StatsFrame(padding));
      EXPECT_TRUE(c.ClosedByServer());
    }
    // 5. Random bytes, a truncated hello, an oversized one.
    {
      std::string noise(kClientHelloBytes + rng() % 200, '\0');
      for (auto& ch : noise) ch = static_cast<char>(rng());
      RawConnection c(port);
      c.Send(noise);
      EXPECT_TRUE(c.ClosedByServer());
    }
    {
      RawConnection c(port);
      c.Send(ClientHello(RandomBytes(kNonceBytes)).substr(0, 1 + rng() % (kClientHelloBytes - 1)));
    }  // closed by us mid-hello
    {
      RawConnection c(port);
      c.Send(ClientHello(RandomBytes(kNonceBytes)) + std::string(100000, 'A'));
      c.Receive(kServerProofBytes);
      EXPECT_TRUE(c.ClosedByServer()) << "bytes after the hello are not a proof";
    }
    // 6. The authorised client is served every round.
    const auto reply = good.Call(kStatsRequest, "", std::chrono::milliseconds(5000));
    EXPECT_EQ(reply.type, kStatsReply);
  }
  EXPECT_EQ(refused_calls, 2 * kRounds);
  // Every attack was counted as a refused handshake (8 a round), and the only
  // frames served were the authorised ones (the recorded session's and one a round).
  EXPECT_EQ(s.CounterReaching("handshake_failed", failed_before + 8 * kRounds), failed_before + 8 * kRounds);
  EXPECT_EQ(s.Counter("frames_served"), 1u + kRounds);
  EXPECT_EQ(s.Counter("bad_magic"), 0u) << "nothing unauthenticated reached the frame parser";
  EXPECT_EQ(s.Counter("authenticated"), 1u + 1u) << "the recorded session and the good client's one connection";
}

TEST(Security, APeerStalledMidHandshakeIsClosedAfterTheIdleTimeout) {
  SecureServer s(NewSecret(), /*idle_timeout_s=*/0.3);
  RawConnection c(s.server.port());
  c.Send(ClientHello(RandomBytes(kNonceBytes)).substr(0, 5));
  const auto t0 = std::chrono::steady_clock::now();
  EXPECT_TRUE(c.ClosedByServer());
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(4)) << "closed by the idle timeout";
  EXPECT_EQ(s.CounterReaching("handshake_failed", 1), 1u);
  EXPECT_EQ(s.Counter("idle_closed"), 0u);
}

TEST(Security, AServerWithoutTheSecretIsNeverSentARequest) {
  // An insecure server (no handshake) and a client holding a secret: the
  // client's hello is not a frame, the server closes, and the client says why.
  SecureServer s("");
  ClientOptions o;
  o.secret = NewSecret();
  o.attempts = 1;
  RpcClient client({"127.0.0.1", s.server.port()}, o);
  try {
    client.Call(kStatsRequest, "", std::chrono::milliseconds(2000));
    FAIL() << "a server without the secret answered";
  } catch (const RpcError& e) {
    EXPECT_NE(std::string(e.what()).find("may not share this secret"), std::string::npos) << e.what();
  }
  EXPECT_EQ(s.Counter("frames_served"), 0u);
}

TEST(Security, ARequestsInFlightPastTheLimitGetAnErrorReply) {
  const std::string secret = NewSecret();
  ServerOptions o = SecureServer::Options(secret, 120);
  o.max_in_flight = 2;
  RpcServer server(o);
  std::mutex mu;
  std::vector<Responder> held;  // requests left open until the end
  server.HandleAsync(200, [&](std::string, Responder respond) {
    std::lock_guard<std::mutex> lock(mu);
    held.push_back(respond);
  });
  std::thread run([&] { server.Run(); });
  RawConnection c(server.port());
  const std::string cn = RandomBytes(kNonceBytes);
  c.Send(ClientHello(cn));
  const std::string sn = VerifyServerProof(secret, cn, c.Receive(kServerProofBytes));
  ASSERT_FALSE(sn.empty());
  c.Send(ClientProof(secret, cn, sn));
  // Two requests stay in flight; the next three are answered at once with an error.
  for (uint64_t id = 1; id <= 2; ++id) c.Send(EncodeFrame(200, id, "x"));
  while (true) {
    std::lock_guard<std::mutex> lock(mu);
    if (held.size() == 2) break;
  }
  for (uint64_t id = 3; id <= 5; ++id) c.Send(EncodeFrame(200, id, "x"));
  for (int i = 0; i < 3; ++i) {
    const std::string header = c.Receive(kFrameHeaderBytes);
    ASSERT_EQ(header.size(), kFrameHeaderBytes);
    FrameHeader h;
    ASSERT_EQ(DecodeHeader(reinterpret_cast<const uint8_t*>(header.data()), kDefaultMaxFrameBytes, &h),
              HeaderStatus::kOk);
    EXPECT_EQ(h.type, kErrorReply);
    EXPECT_EQ(h.request_id, 3u + i);
    EXPECT_NE(c.Receive(h.length).find("too many requests in flight"), std::string::npos);
  }
  EXPECT_EQ(server.Counters().at("in_flight_limited"), 3u);
  for (auto& r : held) r(Reply{201, "done"});
  server.Stop();
  run.join();
}

// ------------------------------------------------------------ the commands

TEST(Security, StandaloneCommandsNeedASecretOrAnExplicitInsecure) {
  prlm::testing::TempDir dir;
  const std::string prlm = PRLM_BINARY;
  auto r = prlm::testing::Shell(prlm + " serve-reward --w-pers 0");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("needs --secret-file PATH"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("--insecure"), std::string::npos) << r.out;
  prlm::testing::WriteBytes(dir / "open", std::string(32, 'k'));
  ::chmod((dir / "open").c_str(), 0644);
  r = prlm::testing::Shell(prlm + " serve-reward --w-pers 0 --secret-file " + dir / "open");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("chmod 600"), std::string::npos) << r.out;
  r = prlm::testing::Shell(prlm + " retrieve --server 127.0.0.1:1 --user u");
  EXPECT_NE(r.code, 0);
  EXPECT_NE(r.out.find("the client needs --secret-file"), std::string::npos) << r.out;
  // --insecure starts, with a warning; once it listens, SIGTERM drains it (no fixed wait: a loaded
  // machine may take seconds to start it).
  const std::string log = dir / "insecure.log";
  r = prlm::testing::Shell(prlm + " serve-reward --w-pers 0 --insecure > " + log + " 2>&1 & pid=$!; " +
                           "for i in $(seq 600); do grep -q 'listening on' " + log + " && break; sleep 0.1; done; " +
                           "kill -TERM $pid; wait $pid; rc=$?; cat " + log + "; exit $rc");
  EXPECT_EQ(r.code, 0) << r.out;
  EXPECT_NE(r.out.find("warning: --insecure"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("listening on 127.0.0.1:"), std::string::npos) << r.out;
}

}  // namespace
}  // namespace prlm::net
