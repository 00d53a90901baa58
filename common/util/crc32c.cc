#include "common/util/crc32c.h"

#include <nmmintrin.h>

#include <array>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

#include "common/util/check.h"

namespace prlm::util {
namespace {

constexpr uint32_t kReflectedPoly = 0x82F63B78u;

// table[k][b]: the CRC of byte b followed by k zero bytes (slicing-by-8).
struct Tables {
  std::array<std::array<uint32_t, 256>, 8> t{};
  Tables() {
    for (uint32_t b = 0; b < 256; ++b) {
      uint32_t c = b;
      for (int i = 0; i < 8; ++i) c = (c & 1) ? (c >> 1) ^ kReflectedPoly : c >> 1;
      t[0][b] = c;
    }
    for (uint32_t b = 0; b < 256; ++b)
      for (size_t k = 1; k < 8; ++k) t[k][b] = (t[k - 1][b] >> 8) ^ t[0][t[k - 1][b] & 0xff];
  }
};

uint32_t SoftwareCrc(const uint8_t* p, size_t n, uint32_t c) {
  static const Tables tables;
  const auto& t = tables.t;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    word ^= c;
    c = t[7][word & 0xff] ^ t[6][(word >> 8) & 0xff] ^ t[5][(word >> 16) & 0xff] ^ t[4][(word >> 24) & 0xff] ^
        t[3][(word >> 32) & 0xff] ^ t[2][(word >> 40) & 0xff] ^ t[1][(word >> 48) & 0xff] ^ t[0][word >> 56];
  }
  for (; n > 0; --n, ++p) c = (c >> 8) ^ t[0][(c ^ *p) & 0xff];
  return c;
}

__attribute__((target("sse4.2"))) uint32_t HardwareCrc(const uint8_t* p, size_t n, uint32_t c) {
  uint64_t c64 = c;
  for (; n >= 8; n -= 8, p += 8) {
    uint64_t word;
    std::memcpy(&word, p, 8);
    c64 = _mm_crc32_u64(c64, word);
  }
  c = static_cast<uint32_t>(c64);
  for (; n > 0; --n, ++p) c = _mm_crc32_u8(c, *p);
  return c;
}

}  // namespace

uint32_t Crc32c(const void* data, size_t n, uint32_t crc) {
  static const bool hardware = __builtin_cpu_supports("sse4.2");
  const auto* p = static_cast<const uint8_t*>(data);
  const uint32_t c = ~crc;
  return ~(hardware ? HardwareCrc(p, n, c) : SoftwareCrc(p, n, c));
}

uint32_t Crc32cPortable(const void* data, size_t n, uint32_t crc) {
  return ~SoftwareCrc(static_cast<const uint8_t*>(data), n, ~crc);
}

uint32_t FileCrc32c(const std::string& path, uint64_t* size) {
  std::ifstream in(path, std::ios::binary);
  PRLM_REQUIRE(in, path << ": cannot be opened");
  std::vector<char> block(size_t{4} << 20);
  uint32_t crc = 0;
  uint64_t total = 0;
  while (in) {
    in.read(block.data(), static_cast<std::streamsize>(block.size()));
    const auto got = static_cast<size_t>(in.gcount());
    crc = Crc32c(block.data(), got, crc);
    total += got;
  }
  PRLM_REQUIRE(in.eof(), path << ": read failed after " << total << " bytes");
  if (size) *size = total;
  return crc;
}

}  // namespace prlm::util
