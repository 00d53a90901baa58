// The listening options of the standalone services (serve-retrieval,
// serve-reward): --host --port --THREADS --max-frame-bytes --idle-timeout,
// and the net::ServerOptions they make (draining on SIGTERM / SIGINT).
// Not thread-safe; used once per process, like Args.
#pragma once

#include "cli/args.h"
#include "common/net/rpc_server.h"

namespace prlm::cli {

// `threads_flag` names the worker-thread option ("threads", "net-threads").
void AddServerOptions(Args& args, const char* threads_flag, const char* threads_help);
net::ServerOptions ServerOptionsFrom(const Args& args, const char* threads_flag);

}  // namespace prlm::cli
