// CRC-32C (Castagnoli, polynomial 0x1EDC6F41, reflected), the checksum of
// TensorBoard's record format and of prlm's checkpoint manifests.
//
// Uses the SSE4.2 crc32 instruction when the CPU has it (8 bytes per
// instruction, for checksumming multi-GB checkpoints) and an 8-way sliced
// table otherwise; both give identical results (tested).
// Thread-safety: pure functions.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string_view>

namespace prlm::util {

// Extends `crc` (the value of a previous call, 0 to start) over [data, data+n).
uint32_t Crc32c(const void* data, size_t n, uint32_t crc = 0);
inline uint32_t Crc32c(std::string_view s, uint32_t crc = 0) { return Crc32c(s.data(), s.size(), crc); }
// The table-driven path alone (what Crc32c uses without SSE4.2); for tests.
uint32_t Crc32cPortable(const void* data, size_t n, uint32_t crc = 0);

// TensorFlow's record framing stores masked CRCs, so that a CRC of data that
// itself holds CRCs stays well distributed: rotate right by 15, add a constant.
inline uint32_t MaskCrc32c(uint32_t crc) { return ((crc >> 15) | (crc << 17)) + 0xa282ead8u; }

// The CRC-32C of a whole file, read in large blocks. Throws util::Error
// naming the path when it cannot be read.
uint32_t FileCrc32c(const std::string& path, uint64_t* size = nullptr);

}  // namespace prlm::util
