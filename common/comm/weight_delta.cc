#include "common/comm/weight_delta.h"

#include <algorithm>
#include <cstdint>
#include <cstring>

#include "common/util/check.h"

namespace prlm::comm {

bool EncodeWordDelta(std::string_view base, std::string_view next, size_t limit, std::string* delta) {
  PRLM_CHECK(base.size() == next.size() && base.size() % 2 == 0);
  std::string& out = *delta;
  out.clear();
  uint64_t last = 0;  // the word after the previous changed one
  for (uint64_t w = 0; w < base.size() / 2; ++w) {
    if (std::memcmp(base.data() + 2 * w, next.data() + 2 * w, 2) == 0) continue;
    for (uint64_t gap = w - last;; gap >>= 7) {  // LEB128
      const auto byte = static_cast<uint8_t>(gap & 0x7f);
      if (gap < 0x80) {
        out.push_back(static_cast<char>(byte));
        break;
      }
      out.push_back(static_cast<char>(byte | 0x80));
    }
    out.append(next.data() + 2 * w, 2);
    if (out.size() >= limit) return false;
    last = w + 1;
  }
  return true;
}

std::string ApplyWordDelta(std::string_view base, std::string_view delta) {
  std::string out(base);
  const uint64_t words = out.size() / 2;
  uint64_t w = 0;
  for (size_t at = 0; at < delta.size();) {
    uint64_t gap = 0;
    for (int shift = 0;; shift += 7) {
      PRLM_REQUIRE(at < delta.size() && shift < 64, "weight delta: a truncated gap at byte " << at);
      const auto byte = static_cast<uint8_t>(delta[at++]);
      gap |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if ((byte & 0x80) == 0) break;
    }
    PRLM_REQUIRE(gap < words - std::min(w, words),
                 "weight delta: word " << w + gap << " is past the chunk's " << words);
    w += gap;
    PRLM_REQUIRE(at + 2 <= delta.size(), "weight delta: word " << w << "'s value is cut off");
    std::memcpy(out.data() + 2 * w, delta.data() + at, 2);
    at += 2;
    ++w;
  }
  return out;
}

}  // namespace prlm::comm
