// Optional TLS for the services (net.tls), for sites whose cluster network is
// not trusted: it hides what the job secret's handshake (handshake.h) does not,
// the profiles, questions and answers on the wire. The handshake still runs,
// inside TLS: TLS says the server is the one the client trusts; the secret
// says the peer belongs to the job.
//
//  - A server has a TlsIdentity: its certificate (PEM, then any chain) and
//    private key. A training job makes a self-signed one at start (rank 0,
//    MakeSelfSignedIdentity) and shares it over MPI with the secret; a site
//    can give its own (net.tls_cert / net.tls_key).
//  - A client has a TlsTrust: the certificates it trusts. Trusting the
//    server's own certificate pins it: that exact certificate, whatever host
//    name it carries. Trusting a CA accepts any certificate that CA signed for
//    the host name the client dialled (checked). Trusting none is safe only
//    with the job secret: the handshake's proofs bind the TLS channel
//    (TlsChannelBinding), so the secret proves the server instead.
//  - Only TLS 1.3 is spoken: both ends are prlm.
//
// Errors: a certificate or key that does not parse, a key that does not match
// its certificate, a key file group/other can read: util::Error naming the
// file or the PEM's role. Thread-safety: the functions are pure; a
// TlsClientContext is immutable after construction and used from any thread.
#pragma once

#include <memory>
#include <string>

typedef struct ssl_ctx_st SSL_CTX;  // <openssl/ssl.h> stays out of this header
typedef struct ssl_st SSL;

namespace prlm::net {

struct TlsIdentity {
  std::string certificate_pem;  // the server's certificate, then any intermediates
  std::string private_key_pem;
  bool enabled() const { return !certificate_pem.empty(); }
};

struct TlsTrust {
  std::string trusted_pem;  // the certificates to trust (one or more PEM blocks)
  bool enabled() const { return !trusted_pem.empty(); }
};

// A fresh EC P-256 key and a certificate for it signed by itself (SHA-256,
// valid from a minute ago for `days`, naming `host` as CN and DNS name).
TlsIdentity MakeSelfSignedIdentity(const std::string& host, int days = 30);

// Throws util::Error when the certificate or key does not parse or they do not
// belong together; `where` names their origin in the message.
void CheckTlsIdentity(const TlsIdentity& identity, const std::string& where);

// Reads a certificate file and a key file (the key refused unless mode 600,
// like a secret file), and checks them together.
TlsIdentity ReadTlsIdentity(const std::string& certificate_path, const std::string& key_path);
// Reads a file of trusted certificates; throws unless it holds at least one.
TlsTrust ReadTlsTrust(const std::string& path);

// Writes a new self-signed identity to two new files (the key with mode 600;
// existing files are never overwritten).
void WriteNewTlsIdentity(const TlsIdentity& identity, const std::string& certificate_path, const std::string& key_path);

// The client side: an SSL_CTX that speaks TLS 1.3 and verifies the server
// against `trust`; with an empty trust it verifies no certificate.
// REQUIRES: with an empty trust, the caller proves the server otherwise (the
// secret's handshake over TlsChannelBinding).
class TlsClientContext {
 public:
  explicit TlsClientContext(const TlsTrust& trust);
  ~TlsClientContext();
  TlsClientContext(const TlsClientContext&) = delete;
  TlsClientContext& operator=(const TlsClientContext&) = delete;

  SSL_CTX* get() const { return ctx_; }
  // True when the trusted set holds a CA: then the server's certificate must
  // also name the host dialled. False: the trusted certificates are pinned.
  bool check_host_name() const { return check_host_name_; }

 private:
  SSL_CTX* ctx_ = nullptr;
  bool check_host_name_ = false;
};

// 32 bytes that only the two ends of this TLS 1.3 connection share (the
// RFC 8446 exporter, label "EXPORTER-prlm-handshake", as RFC 9266's
// tls-exporter binding). REQUIRES: the TLS handshake is done.
std::string TlsChannelBinding(SSL* ssl);

// The OpenSSL error queue as text ("" when empty), emptied.
std::string TakeTlsErrors();

}  // namespace prlm::net
