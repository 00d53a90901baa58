// Error reporting for all of prlm.
//
// Two kinds of failure, kept apart on purpose:
//  - A user's mistake (bad file, bad option, bad frame) throws util::Error whose
//    message names the thing that is wrong and what was expected. Use PRLM_THROW
//    / PRLM_REQUIRE; the message carries the function, file and line.
//  - A broken internal invariant is a bug: PRLM_CHECK aborts with file, line and
//    the failed condition.
// Thread-safe: no shared state.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>

namespace prlm::util {

class Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

[[noreturn]] void ThrowError(const char* func, const char* file, int line, const std::string& message);
[[noreturn]] void CheckFailed(const char* file, int line, const char* cond, const std::string& message);

}  // namespace prlm::util

// Streams its arguments into the message: PRLM_THROW("bad dtype " << d).
#define PRLM_THROW(stream_expr)                                              \
  do {                                                                       \
    std::ostringstream prlm_msg_;                                            \
    prlm_msg_ << stream_expr;                                                \
    ::prlm::util::ThrowError(__func__, __FILE__, __LINE__, prlm_msg_.str()); \
  } while (0)

#define PRLM_REQUIRE(cond, stream_expr)   \
  do {                                    \
    if (!(cond)) PRLM_THROW(stream_expr); \
  } while (0)

#define PRLM_CHECK(cond)                                                   \
  do {                                                                     \
    if (!(cond)) ::prlm::util::CheckFailed(__FILE__, __LINE__, #cond, ""); \
  } while (0)

#define PRLM_CHECK_MSG(cond, stream_expr)                                    \
  do {                                                                       \
    if (!(cond)) {                                                           \
      std::ostringstream prlm_msg_;                                          \
      prlm_msg_ << stream_expr;                                              \
      ::prlm::util::CheckFailed(__FILE__, __LINE__, #cond, prlm_msg_.str()); \
    }                                                                        \
  } while (0)
