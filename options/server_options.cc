#include "options/server_options.h"

#include <cstdio>
#include <string>

#include "common/net/handshake.h"
#include "common/util/check.h"

namespace prlm::options {
namespace {

void AddSecretOptions(Args& args, const char* who) {
  args.Option("secret-file", "PATH", "",
              std::string("the secret ") + who + " share (prlm make-secret writes one; mode 600)")
      .Flag("insecure", "run without a secret: anyone who can connect is served (a warning is printed)");
}

// The secret, or "" with --insecure.
std::string SecretFrom(const Args& args, bool server) {
  const char* what = server ? "the server" : "the client";
  PRLM_REQUIRE(!(args.Has("secret-file") && args.GetFlag("insecure")), "give --secret-file or --insecure, not both");
  if (args.Has("secret-file")) return net::ReadSecretFile(args.Get("secret-file"));
  PRLM_REQUIRE(args.GetFlag("insecure"),
               what << " needs --secret-file PATH (a secret shared with its " << (server ? "clients" : "server")
                    << "; prlm make-secret writes one), or --insecure to run without authentication");
  std::fprintf(stderr,
               "warning: --insecure: %s neither asks for nor proves a secret; any process that can reach "
               "the address can %s\n",
               what, server ? "read what it serves" : "impersonate the server");
  return "";
}

void AddNoTlsFlag(Args& args) {
  args.Flag("no-tls", "speak plaintext (the default with a secret is TLS 1.3; a warning names the risk)");
}

// Whether --no-tls asks for plaintext; warns when it does. `certificate_flag`
// is the TLS option that contradicts it.
bool NoTls(const Args& args, const char* certificate_flag) {
  if (!args.GetFlag("no-tls")) return false;
  PRLM_REQUIRE(!args.Has(certificate_flag), "give --" << certificate_flag << " or --no-tls, not both");
  std::fprintf(stderr,
               "warning: --no-tls: requests and replies cross the network in plaintext; anyone who can capture "
               "traffic between the hosts reads users' profiles, questions and answers\n");
  return true;
}

}  // namespace

void AddServerOptions(Args& args, const char* threads_flag, const char* threads_help) {
  args.Option("host", "ADDR", "127.0.0.1", "address to listen on")
      .Option("port", "N", "0", "port (0: any free port; printed at start)")
      .Option(threads_flag, "N", "2", threads_help)
      .Option("max-frame-bytes", "N", "16777216", "largest accepted frame payload")
      .Option("idle-timeout", "SECONDS", "120", "close connections silent (or stuck mid-frame) this long");
  AddSecretOptions(args, "clients must");
  args.Option("tls-cert", "PATH", "", "serve over TLS 1.3 with this certificate (PEM; prlm make-cert writes one)")
      .Option("tls-key", "PATH", "", "the certificate's private key (PEM, mode 600)");
  AddNoTlsFlag(args);
}

net::ServerOptions ServerOptionsFrom(const Args& args, const char* threads_flag) {
  net::ServerOptions o;
  o.host = args.Get("host");
  o.port = static_cast<uint16_t>(args.GetInt("port"));
  o.worker_threads = args.GetInt(threads_flag);
  o.max_frame_bytes = static_cast<size_t>(std::stoull(args.Get("max-frame-bytes")));
  o.idle_timeout_s = args.GetDouble("idle-timeout");
  o.handle_signals = true;
  o.secret = SecretFrom(args, /*server=*/true);
  PRLM_REQUIRE(args.Has("tls-cert") == args.Has("tls-key"), "give --tls-cert and --tls-key together");
  // TLS: the site's certificate; else, with a secret, one made now (clients
  // need not trust it: the secret's handshake is bound to the TLS channel).
  const bool plaintext = NoTls(args, "tls-cert");
  if (args.Has("tls-cert"))
    o.tls = net::ReadTlsIdentity(args.Get("tls-cert"), args.Get("tls-key"));
  else if (!plaintext && !o.secret.empty())
    o.tls = net::MakeSelfSignedIdentity(o.host);
  return o;
}

void AddClientSecretOptions(Args& args) {
  AddSecretOptions(args, "the server and its clients");
  args.Option("tls-ca", "PATH", "",
              "trust this certificate: the server's own (pinned) or its CA's (PEM); without it, the secret "
              "proves the server");
  AddNoTlsFlag(args);
}

net::ClientOptions ClientOptionsFrom(const Args& args) {
  net::ClientOptions o;
  o.secret = SecretFrom(args, /*server=*/false);
  const bool plaintext = NoTls(args, "tls-ca");
  if (args.Has("tls-ca")) o.tls_trust = net::ReadTlsTrust(args.Get("tls-ca"));
  o.tls = o.tls_trust.enabled() || (!plaintext && !o.secret.empty());
  return o;
}

}  // namespace prlm::options
