// The network options of the standalone services (serve-retrieval,
// serve-reward) and of the commands that call them:
//  - servers: --host --port --THREADS --max-frame-bytes --idle-timeout, and
//    the job secret: --secret-file PATH (refused when group/other-readable)
//    or an explicit --insecure (a warning; no handshake). Neither: refused.
//    TLS: on with a secret (a self-signed certificate made at start), or
//    with --tls-cert PATH --tls-key PATH (the key refused unless mode 600);
//    --no-tls: plaintext, with a warning.
//  - clients: --secret-file / --insecure the same way; TLS with a secret
//    (the secret's handshake, bound to the TLS channel, proves the server)
//    or with --tls-ca PATH (trusting the server's certificate or its CA);
//    --no-tls: plaintext, with a warning.
// Not thread-safe; used once per process, like Args.
#pragma once

#include <string>

#include "options/args.h"
#include "common/net/rpc_client.h"
#include "common/net/rpc_server.h"

namespace prlm::options {

// `threads_flag` names the worker-thread option ("threads", "net-threads").
void AddServerOptions(Args& args, const char* threads_flag, const char* threads_help);
// Throws util::Error when neither --secret-file nor --insecure is given, or
// the secret file is refused.
net::ServerOptions ServerOptionsFrom(const Args& args, const char* threads_flag);

void AddClientSecretOptions(Args& args);
// Call only when the command will connect to a server (same rules as above).
net::ClientOptions ClientOptionsFrom(const Args& args);

}  // namespace prlm::options
