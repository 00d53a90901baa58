#include "common/util/check.h"

#include <cstdio>
#include <cstdlib>
#include <cstring>

namespace prlm::util {

void ThrowError(const char* func, const char* file, int line, const std::string& message) {
  const char* base = std::strrchr(file, '/');
  std::ostringstream full;
  full << message << " [" << func << " at " << (base ? base + 1 : file) << ":" << line << "]";
  throw Error(full.str());
}

void CheckFailed(const char* file, int line, const char* cond, const std::string& message) {
  std::fprintf(stderr, "prlm internal error at %s:%d: CHECK(%s) failed%s%s\n", file, line, cond,
               message.empty() ? "" : ": ", message.c_str());
  std::fflush(stderr);
  std::abort();
}

}  // namespace prlm::util
