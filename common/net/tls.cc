#include "common/net/tls.h"

#include <fcntl.h>
#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <vector>

#include "common/net/handshake.h"
#include "common/util/check.h"
#include "common/util/file.h"

namespace prlm::net {
namespace {

// Owners of OpenSSL objects, freed on every path.
struct BioFree {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct X509Free {
  void operator()(X509* x) const { X509_free(x); }
};
struct KeyFree {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
using BioPtr = std::unique_ptr<BIO, BioFree>;
using X509Ptr = std::unique_ptr<X509, X509Free>;
using KeyPtr = std::unique_ptr<EVP_PKEY, KeyFree>;

BioPtr ReadBio(const std::string& pem) { return BioPtr(BIO_new_mem_buf(pem.data(), static_cast<int>(pem.size()))); }

std::string BioText(BIO* bio) {
  char* data = nullptr;
  const long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// Every certificate of a PEM text, in order.
std::vector<X509Ptr> ParseCertificates(const std::string& pem) {
  std::vector<X509Ptr> out;
  BioPtr bio = ReadBio(pem);
  while (X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr)) out.emplace_back(x);
  ERR_clear_error();  // the read that ended the loop leaves "no start line"
  return out;
}

void AddExtension(X509* cert, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, cert, cert, nullptr, nullptr, 0);
  X509_EXTENSION* ext = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  PRLM_CHECK_MSG(ext != nullptr && X509_add_ext(cert, ext, -1) == 1,
                 "X509 extension " << value << ": " << TakeTlsErrors());
  X509_EXTENSION_free(ext);
}

// OpenSSL's socket BIO writes with write(), so a peer that closed would
// raise SIGPIPE and end the process: a client that speaks TLS ignores it.
void IgnoreSigpipe() {
  struct sigaction current {};
  if (sigaction(SIGPIPE, nullptr, &current) == 0 && current.sa_handler == SIG_DFL) std::signal(SIGPIPE, SIG_IGN);
}

}  // namespace

std::string TakeTlsErrors() {
  std::string out;
  while (const unsigned long e = ERR_get_error()) {
    char text[256];
    ERR_error_string_n(e, text, sizeof text);
    out += (out.empty() ? "" : "; ") + std::string(text);
  }
  return out;
}

TlsIdentity MakeSelfSignedIdentity(const std::string& host, int days) {
  PRLM_REQUIRE(days > 0, "a certificate must be valid for at least a day (got " << days << ")");
  // 1. The key.
  KeyPtr key(EVP_EC_gen("P-256"));
  PRLM_CHECK_MSG(key != nullptr, "EC key generation failed: " << TakeTlsErrors());
  // 2. The certificate: v3, a random 128-bit serial, CN and DNS name `host`.
  X509Ptr cert(X509_new());
  X509_set_version(cert.get(), 2);
  const std::string serial_bytes = RandomBytes(16);
  BIGNUM* serial = BN_bin2bn(reinterpret_cast<const unsigned char*>(serial_bytes.data()), 16, nullptr);
  BN_to_ASN1_INTEGER(serial, X509_get_serialNumber(cert.get()));
  BN_free(serial);
  X509_gmtime_adj(X509_getm_notBefore(cert.get()), -60);
  X509_gmtime_adj(X509_getm_notAfter(cert.get()), static_cast<long>(days) * 86400);
  X509_set_pubkey(cert.get(), key.get());
  X509_NAME* name = X509_get_subject_name(cert.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>("prlm job"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_UTF8, reinterpret_cast<const unsigned char*>(host.c_str()), -1, -1,
                             0);
  X509_set_issuer_name(cert.get(), name);
  AddExtension(cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  AddExtension(cert.get(), NID_key_usage, "critical,digitalSignature");
  AddExtension(cert.get(), NID_ext_key_usage, "serverAuth");
  AddExtension(cert.get(), NID_subject_alt_name, "DNS:" + host);
  PRLM_CHECK_MSG(X509_sign(cert.get(), key.get(), EVP_sha256()) > 0,
                 "signing the certificate failed: " << TakeTlsErrors());
  // 3. Both as PEM.
  BioPtr cert_bio(BIO_new(BIO_s_mem())), key_bio(BIO_new(BIO_s_mem()));
  PRLM_CHECK(PEM_write_bio_X509(cert_bio.get(), cert.get()) == 1);
  PRLM_CHECK(PEM_write_bio_PrivateKey(key_bio.get(), key.get(), nullptr, nullptr, 0, nullptr, nullptr) == 1);
  return TlsIdentity{BioText(cert_bio.get()), BioText(key_bio.get())};
}

void CheckTlsIdentity(const TlsIdentity& identity, const std::string& where) {
  const auto certs = ParseCertificates(identity.certificate_pem);
  PRLM_REQUIRE(!certs.empty(),
               where << ": the certificate is not a PEM certificate (expected -----BEGIN CERTIFICATE-----)");
  BioPtr bio = ReadBio(identity.private_key_pem);
  KeyPtr key(PEM_read_bio_PrivateKey(bio.get(), nullptr, nullptr, nullptr));
  if (!key) {
    const std::string why = TakeTlsErrors();
    PRLM_THROW(where << ": the private key is not an unencrypted PEM key (" << why << ")");
  }
  if (X509_check_private_key(certs[0].get(), key.get()) != 1) {
    TakeTlsErrors();
    PRLM_THROW(where << ": the private key does not belong to the certificate");
  }
}

TlsIdentity ReadTlsIdentity(const std::string& certificate_path, const std::string& key_path) {
  TlsIdentity identity{util::ReadFile(certificate_path), util::ReadPrivateFile(key_path, "TLS key file")};
  CheckTlsIdentity(identity, certificate_path + " and " + key_path);
  return identity;
}

TlsTrust ReadTlsTrust(const std::string& path) {
  TlsTrust trust{util::ReadFile(path)};
  PRLM_REQUIRE(!ParseCertificates(trust.trusted_pem).empty(),
               path << " holds no PEM certificate to trust (expected -----BEGIN CERTIFICATE-----)");
  return trust;
}

void WriteNewTlsIdentity(const TlsIdentity& identity, const std::string& certificate_path,
                         const std::string& key_path) {
  util::WriteNewPrivateFile(key_path, identity.private_key_pem, "TLS key file");
  util::WriteNewPrivateFile(certificate_path, identity.certificate_pem, "certificate file");
}

TlsClientContext::TlsClientContext(const TlsTrust& trust) {
  IgnoreSigpipe();
  const auto certs = ParseCertificates(trust.trusted_pem);
  PRLM_REQUIRE(!trust.enabled() || !certs.empty(),
               "the trusted certificates are not PEM certificates (expected -----BEGIN CERTIFICATE-----)");
  ctx_ = SSL_CTX_new(TLS_client_method());
  PRLM_CHECK_MSG(ctx_ != nullptr, "SSL_CTX_new: " << TakeTlsErrors());
  SSL_CTX_set_min_proto_version(ctx_, TLS1_3_VERSION);
  SSL_CTX_set_verify(ctx_, trust.enabled() ? SSL_VERIFY_PEER : SSL_VERIFY_NONE, nullptr);
  // A server that closes without close_notify (it refused the secret, or
  // drained) reads as a plain close; frames carry their lengths, so a cut
  // reply is still caught.
  SSL_CTX_set_options(ctx_, SSL_OP_IGNORE_UNEXPECTED_EOF);
  X509_STORE* store = SSL_CTX_get_cert_store(ctx_);
  for (const auto& cert : certs) {
    X509_STORE_add_cert(store, cert.get());
    if (X509_check_ca(cert.get()) != 0) check_host_name_ = true;
  }
}

TlsClientContext::~TlsClientContext() { SSL_CTX_free(ctx_); }

std::string TlsChannelBinding(SSL* ssl) {
  static constexpr char kLabel[] = "EXPORTER-prlm-handshake";
  std::string out(32, '\0');
  PRLM_CHECK_MSG(SSL_export_keying_material(ssl, reinterpret_cast<unsigned char*>(out.data()), out.size(), kLabel,
                                            sizeof kLabel - 1, nullptr, 0, 0) == 1,
                 "the TLS exporter failed: " << TakeTlsErrors());
  return out;
}

}  // namespace prlm::net
