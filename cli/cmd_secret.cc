// prlm make-secret: a new secret file for the standalone services and their
// clients (--secret-file). Training jobs draw their own secret at start.
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "common/net/handshake.h"

namespace prlm::cli {

int RunMakeSecret(int argc, char** argv) {
  Args args("make-secret",
            "Write a new secret file (32 random bytes, mode 600) for serve-retrieval / serve-reward and\n"
            "their clients (--secret-file). An existing file is never overwritten.");
  args.Option("out", "PATH", "", "the file to create", true);
  if (!args.Parse(argc, argv)) return 0;
  net::WriteNewSecretFile(args.Get("out"));
  std::printf("wrote %s (mode 600); give it to the server and each client with --secret-file\n",
              args.Get("out").c_str());
  return 0;
}

}  // namespace prlm::cli
