// prlm make-secret: a new secret file for the standalone services and their
// clients (--secret-file). prlm make-cert: a self-signed TLS certificate and
// key for them (--tls-cert/--tls-key; clients pin it with --tls-ca).
// Training jobs make their own of both at start.
#include <cstdio>

#include "cli/commands.h"
#include "common/net/handshake.h"
#include "common/net/tls.h"
#include "options/args.h"

namespace prlm::cli {

int RunMakeSecret(int argc, char** argv) {
  options::Args args("make-secret",
                     "Write a new secret file (32 random bytes, mode 600) for serve-retrieval / serve-reward and\n"
                     "their clients (--secret-file). An existing file is never overwritten.");
  args.Option("out", "PATH", "", "the file to create", true);
  if (!args.Parse(argc, argv)) return 0;
  net::WriteNewSecretFile(args.Get("out"));
  std::printf("wrote %s (mode 600); give it to the server and each client with --secret-file\n",
              args.Get("out").c_str());
  return 0;
}

int RunMakeCert(int argc, char** argv) {
  options::Args args("make-cert",
                     "Write a new self-signed TLS certificate (EC P-256) and its private key (mode 600) for\n"
                     "serve-retrieval / serve-reward (--tls-cert, --tls-key). Clients pin the certificate with\n"
                     "--tls-ca. Existing files are never overwritten.");
  args.Option("cert", "PATH", "", "the certificate file to create", true)
      .Option("key", "PATH", "", "the private key file to create", true)
      .Option("host", "NAME", "localhost", "the host name the certificate carries")
      .Option("days", "N", "365", "days the certificate is valid");
  if (!args.Parse(argc, argv)) return 0;
  net::WriteNewTlsIdentity(net::MakeSelfSignedIdentity(args.Get("host"), args.GetInt("days")), args.Get("cert"),
                           args.Get("key"));
  std::printf("wrote %s and %s (mode 600); serve with --tls-cert %s --tls-key %s, and give clients --tls-ca %s\n",
              args.Get("cert").c_str(), args.Get("key").c_str(), args.Get("cert").c_str(), args.Get("key").c_str(),
              args.Get("cert").c_str());
  return 0;
}

}  // namespace prlm::cli
