// The job secret and the mutual challenge-response every service connection
// starts with, so that only peers holding the secret reach the services that
// hold users' profiles.
//
// Wire (before any frame; both nonces fresh from the OS's CSPRNG):
//   client -> server  ClientHello  "PRLMAUTH" | version 2 | client nonce (32)
//   server -> client  ServerProof  "PRLMAUTH" | server nonce (32) |
//                                  HMAC-SHA-256(secret, "prlm server" | cn | sn | ch)
//   client -> server  ClientProof  HMAC-SHA-256(secret, "prlm client" | sn | cn | ch)
// Each side compares the other's MAC in constant time (CRYPTO_memcmp). The
// server's fresh nonce makes a recorded ClientProof worthless on a new
// connection; the client checks the server before sending its proof, so a
// server without the secret learns nothing it can replay either.
//
// `ch` binds the proofs to the TLS connection they travel in (the channel
// binding: 32 bytes of TLS 1.3's exporter, tls.h TlsChannelBinding; empty
// without TLS). A machine in the middle that ends TLS on both sides and
// relays the handshake gets two different channels, so the server's proof
// fails at the client: with the secret, TLS needs no trusted certificate to
// be safe (the standalone services' default, docs/security.md).
// Crypto is OpenSSL's libcrypto; nothing here is hand-written crypto.
//
// A secret file holds the secret's bytes (at least 16; `prlm make-secret`
// writes 32 random ones); it must not be readable by group or others.
// Thread-safe: pure functions (RAND_bytes is thread-safe).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace prlm::net {

constexpr size_t kSecretBytes = 32, kMinSecretBytes = 16, kNonceBytes = 32, kMacBytes = 32;
constexpr size_t kHelloMagicBytes = 8;
constexpr size_t kClientHelloBytes = kHelloMagicBytes + 1 + kNonceBytes;
constexpr size_t kServerProofBytes = 8 + kNonceBytes + kMacBytes;
constexpr size_t kClientProofBytes = kMacBytes;

// `n` bytes from the OS's CSPRNG. Throws util::Error if none can be had.
std::string RandomBytes(size_t n);
std::string NewSecret();  // kSecretBytes random bytes

std::string ClientHello(const std::string& client_nonce);
// The client nonce of a hello, or "" when it is not one (wrong magic/version).
std::string ParseClientHello(std::string_view bytes);
// Whether a connection's first kHelloMagicBytes bytes begin a hello.
bool IsHelloMagic(std::string_view first_bytes);
// `channel`: the connection's channel binding ("" without TLS).
std::string ServerProof(const std::string& secret, const std::string& client_nonce, const std::string& server_nonce,
                        const std::string& channel = "");
// The server nonce of a proof whose MAC is right for `secret`, or "".
std::string VerifyServerProof(const std::string& secret, const std::string& client_nonce, std::string_view bytes,
                              const std::string& channel = "");
std::string ClientProof(const std::string& secret, const std::string& client_nonce, const std::string& server_nonce,
                        const std::string& channel = "");
bool VerifyClientProof(const std::string& secret, const std::string& client_nonce, const std::string& server_nonce,
                       std::string_view bytes, const std::string& channel = "");

// Reads a secret file. Throws util::Error naming the path when it is missing,
// readable by group or others (with its mode and the chmod that fixes it), or
// shorter than kMinSecretBytes.
std::string ReadSecretFile(const std::string& path);
// Writes kSecretBytes random bytes to a new file created with mode 0600.
// Throws if the file exists (a secret is never overwritten) or cannot be made.
void WriteNewSecretFile(const std::string& path);

}  // namespace prlm::net
