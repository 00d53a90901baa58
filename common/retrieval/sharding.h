// Which retrieval shard holds a user: FNV-1a (64-bit) of the user id, modulo
// the shard count. Stable across processes, platforms and releases (unlike
// std::hash), so an index built today routes the same way tomorrow.
// Thread-safe: pure.
#pragma once

#include <cstdint>
#include <string_view>

namespace prlm::retrieval {

inline uint64_t Fnv1a64(std::string_view bytes, uint64_t hash = 0xcbf29ce484222325ull) {
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 0x100000001b3ull;
  }
  return hash;
}

// REQUIRES: num_shards >= 1.
inline uint32_t ShardOf(std::string_view user_id, uint32_t num_shards) {
  return static_cast<uint32_t>(Fnv1a64(user_id) % num_shards);
}

}  // namespace prlm::retrieval
