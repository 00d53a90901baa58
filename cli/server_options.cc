#include "cli/server_options.h"

#include <string>

namespace prlm::cli {

void AddServerOptions(Args& args, const char* threads_flag, const char* threads_help) {
  args.Option("host", "ADDR", "127.0.0.1", "address to listen on")
      .Option("port", "N", "0", "port (0: any free port; printed at start)")
      .Option(threads_flag, "N", "2", threads_help)
      .Option("max-frame-bytes", "N", "16777216", "largest accepted frame payload")
      .Option("idle-timeout", "SECONDS", "120", "close connections silent (or stuck mid-frame) this long");
}

net::ServerOptions ServerOptionsFrom(const Args& args, const char* threads_flag) {
  net::ServerOptions o;
  o.host = args.Get("host");
  o.port = static_cast<uint16_t>(args.GetInt("port"));
  o.worker_threads = args.GetInt(threads_flag);
  o.max_frame_bytes = static_cast<size_t>(std::stoull(args.Get("max-frame-bytes")));
  o.idle_timeout_s = args.GetDouble("idle-timeout");
  o.handle_signals = true;
  return o;
}

}  // namespace prlm::cli
