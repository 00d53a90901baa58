// `prlm score`'s pipeline: records from a JSON-lines file (query, completion,
// gold or output, user_id) scored by a running reward server.
//
// Every record is read and checked first, so a bad line fails (naming
// file:line and the field) before any scoring; then requests of
// `batch_size` records go to the server, and one JSON line per record is
// written to `out` in input order: {"line", "reward", "components",
// "answer"}, or {"line", "status", "error"} when the server refused it.
// Thread-safety: one call at a time (it prints as it goes).
#pragma once

#include <cstdint>
#include <cstdio>
#include <string>

#include "common/net/rpc_client.h"

namespace prlm::pipeline {

struct ScoreFileResult {
  size_t records = 0, failed = 0;
};

// REQUIRES (throws util::Error): batch_size >= 1, at least one record.
ScoreFileResult ScoreFile(const std::string& input, const net::Endpoint& server, const net::ClientOptions& client,
                          int batch_size, uint32_t timeout_ms, std::FILE* out);

}  // namespace prlm::pipeline
