#include "common/net/handshake.h"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::net {
namespace {

constexpr std::string_view kMagic = "PRLMAUTH";
constexpr uint8_t kVersion = 2;  // 2: the proofs bind the TLS channel

std::string Mac(const std::string& secret, std::string_view label, const std::string& a, const std::string& b,
                const std::string& channel) {
  PRLM_CHECK(!secret.empty());
  const std::string message = std::string(label) + a + b + channel;
  unsigned char out[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  const unsigned char* mac = HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
                                  reinterpret_cast<const unsigned char*>(message.data()), message.size(), out, &length);
  PRLM_CHECK_MSG(mac != nullptr && length == kMacBytes, "HMAC-SHA-256 failed");
  return std::string(reinterpret_cast<const char*>(out), length);
}

bool SameMac(std::string_view a, const std::string& b) {
  return a.size() == b.size() && CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

}  // namespace

std::string RandomBytes(size_t n) {
  std::string out(n, '\0');
  PRLM_REQUIRE(RAND_bytes(reinterpret_cast<unsigned char*>(out.data()), static_cast<int>(n)) == 1,
               "the OS's random number generator gave no bytes (OpenSSL RAND_bytes failed)");
  return out;
}

std::string NewSecret() { return RandomBytes(kSecretBytes); }

std::string ClientHello(const std::string& client_nonce) {
  PRLM_CHECK(client_nonce.size() == kNonceBytes);
  return std::string(kMagic) + static_cast<char>(kVersion) + client_nonce;
}

std::string ParseClientHello(std::string_view bytes) {
  if (bytes.size() != kClientHelloBytes || bytes.substr(0, 8) != kMagic || static_cast<uint8_t>(bytes[8]) != kVersion)
    return "";
  return std::string(bytes.substr(9));
}

bool IsHelloMagic(std::string_view first_bytes) { return first_bytes == kMagic; }

std::string ServerProof(const std::string& secret, const std::string& client_nonce, const std::string& server_nonce,
                        const std::string& channel) {
  return std::string(kMagic) + server_nonce + Mac(secret, "prlm server", client_nonce, server_nonce, channel);
}

std::string VerifyServerProof(const std::string& secret, const std::string& client_nonce, std::string_view bytes,
                              const std::string& channel) {
  if (bytes.size() != kServerProofBytes || bytes.substr(0, 8) != kMagic) return "";
  const std::string server_nonce(bytes.substr(8, kNonceBytes));
  if (!SameMac(bytes.substr(8 + kNonceBytes), Mac(secret, "prlm server", client_nonce, server_nonce, channel)))
    return "";
  return server_nonce;
}

std::string ClientProof(const std::string& secret, const std::string& client_nonce, const std::string& server_nonce,
                        const std::string& channel) {
  return Mac(secret, "prlm client", server_nonce, client_nonce, channel);
}

bool VerifyClientProof(const std::string& secret, const std::string& client_nonce, const std::string& server_nonce,
                       std::string_view bytes, const std::string& channel) {
  return SameMac(bytes, ClientProof(secret, client_nonce, server_nonce, channel));
}

std::string ReadSecretFile(const std::string& path) {
  const std::string secret = util::ReadPrivateFile(path, "secret file");
  PRLM_REQUIRE(secret.size() >= kMinSecretBytes, "secret file " << path << " holds " << secret.size()
                                                                << " bytes; a secret needs at least " << kMinSecretBytes
                                                                << " (prlm make-secret writes one)");
  return secret;
}

void WriteNewSecretFile(const std::string& path) { util::WriteNewPrivateFile(path, NewSecret(), "secret file"); }

}  // namespace prlm::net
