// Reasoning paths for training questions (REST-PG's stage 1; the sft
// objective's targets when grpo.sft_reasoning names a file): JSON lines, one
// per question,
//
//   {"id": "u00000-q0", "user_id": "u00000", "reasoning": "...",
//    "writer": "oracle", "leaks": false}
//
// `leaks` says the reasoning repeats the expected output (LeaksOutput): such
// paths are kept, and counted where they are written and where they are read.
//
// Errors: a line that is not an object, a missing or empty id or reasoning,
// a repeated id: util::Error naming file:line and the field.
// Thread-safety: plain functions.
#pragma once

#include <map>
#include <string>
#include <vector>

namespace prlm::data {

struct ReasoningPath {
  std::string id, user_id, reasoning, writer;
  bool leaks = false;
};

void WriteReasoningFile(const std::string& path, const std::vector<ReasoningPath>& paths);
// id -> path.
std::map<std::string, ReasoningPath> ReadReasoningFile(const std::string& path);

// Whether `reasoning` repeats the expected output: the whole output, or for
// outputs of more than 8 words any 8 consecutive words of it, compared
// without case and with whitespace collapsed.
bool LeaksOutput(const std::string& reasoning, const std::string& output);

}  // namespace prlm::data
