// TemplateError, the one exception parsing or rendering a chat template
// throws, and Fail(), which throws it naming the template's line.
// Thread-safety: nothing shared.
#pragma once

#include <stdexcept>
#include <string>

namespace prlm::jinja {

class TemplateError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Throws TemplateError("chat template line <line>: <what>").
[[noreturn]] inline void Fail(int line, const std::string& what) {
  throw TemplateError("chat template line " + std::to_string(line) + ": " + what);
}

}  // namespace prlm::jinja
