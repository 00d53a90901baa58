// The wire format of every prlm TCP service: a 16-byte header then a payload
// (a serialized protobuf message).
//
//   offset 0  uint16  magic 0x504D ("PM")
//          2  uint16  message type (kErrorReply..., then each tier's own)
//          4  uint32  payload length in bytes (<= the receiver's maximum)
//          8  uint64  request id (a reply carries its request's id)
//   all big-endian.
//
// A receiver that sees a wrong magic, an oversized length or an unknown type
// closes the connection: after a bad header nothing later on the stream can
// be trusted. Torch- and Asio-free; thread-safe (pure functions).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/net/message_types.h"

namespace prlm::net {

constexpr size_t kFrameHeaderBytes = 16;
constexpr uint16_t kFrameMagic = 0x504D;
constexpr size_t kDefaultMaxFrameBytes = 16u << 20;

struct FrameHeader {
  uint16_t type = 0;
  uint32_t length = 0;
  uint64_t request_id = 0;
};

enum class HeaderStatus { kOk, kBadMagic, kTooLarge };

void EncodeHeader(const FrameHeader& header, uint8_t out[kFrameHeaderBytes]);
HeaderStatus DecodeHeader(const uint8_t in[kFrameHeaderBytes], size_t max_payload_bytes, FrameHeader* out);
// Header + payload, ready to send. REQUIRES: payload.size() < 4 GiB.
std::string EncodeFrame(uint16_t type, uint64_t request_id, std::string_view payload);

}  // namespace prlm::net
