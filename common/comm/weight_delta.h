// Delta encoding of a weight chunk against the same chunk of an older
// version (rollout.delta_sync): only the 16-bit words that changed go out.
// A bf16 weight is one word; an fp32 weight two, and an update smaller than
// about 1/128 of the weight leaves its high word (sign, exponent, top of the
// mantissa) alone. Each changed word is (the gap from the previous changed
// word as a LEB128 varint, the word's 2 bytes), so at the densities TRL
// measured for bf16 (1.2 GB -> 20-35 MB a step) a changed word costs about
// 3 bytes.
//
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace prlm::comm {

// The delta that turns `base` into `next` into *delta; false (and *delta
// unspecified) as soon as it would reach `limit` bytes, so a chunk where
// most words changed costs little to try. REQUIRES: equal, even sizes.
bool EncodeWordDelta(std::string_view base, std::string_view next, size_t limit, std::string* delta);

// `base` with `delta` applied. Throws util::Error when the delta is
// malformed (a truncated varint or value, a word past the end).
std::string ApplyWordDelta(std::string_view base, std::string_view delta);

}  // namespace prlm::comm
