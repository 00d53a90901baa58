// Reading JSON-lines files (one JSON object per line, blank lines skipped),
// with errors that name the file and line.
// Thread-safety: plain function.
#pragma once

#include <nlohmann/json.hpp>

#include <cstddef>
#include <functional>
#include <string>

namespace prlm::util {

// Calls fn(object, "path:line", line) for each non-blank line (line 1-based). Throws util::Error
// naming path:line for a line that is not a JSON object, and for a file that
// cannot be opened; fn may throw its own errors using `where`.
void ForEachJsonLine(
    const std::string& path,
    const std::function<void(const nlohmann::json& object, const std::string& where, size_t line)>& fn);

// The string field `name` of a JSON-lines record: "" when absent and not
// required; an integer id is accepted as its decimal text. Throws naming
// `where` and the field otherwise.
std::string JsonLineString(const nlohmann::json& object, const std::string& where, const char* name, bool required);

}  // namespace prlm::util
