#include "common/net/frame.h"

#include "common/util/check.h"

namespace prlm::net {
namespace {

void PutBig(uint8_t* p, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i, v >>= 8) p[i] = static_cast<uint8_t>(v);
}
uint64_t GetBig(const uint8_t* p, int bytes) {
  uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | p[i];
  return v;
}

}  // namespace

void EncodeHeader(const FrameHeader& h, uint8_t out[kFrameHeaderBytes]) {
  PutBig(out, kFrameMagic, 2);
  PutBig(out + 2, h.type, 2);
  PutBig(out + 4, h.length, 4);
  PutBig(out + 8, h.request_id, 8);
}

HeaderStatus DecodeHeader(const uint8_t in[kFrameHeaderBytes], size_t max_payload_bytes, FrameHeader* out) {
  if (GetBig(in, 2) != kFrameMagic) return HeaderStatus::kBadMagic;
  out->type = static_cast<uint16_t>(GetBig(in + 2, 2));
  out->length = static_cast<uint32_t>(GetBig(in + 4, 4));
  out->request_id = GetBig(in + 8, 8);
  return out->length > max_payload_bytes ? HeaderStatus::kTooLarge : HeaderStatus::kOk;
}

std::string EncodeFrame(uint16_t type, uint64_t request_id, std::string_view payload) {
  PRLM_CHECK(payload.size() <= UINT32_MAX);
  std::string frame(kFrameHeaderBytes, '\0');
  EncodeHeader({type, static_cast<uint32_t>(payload.size()), request_id}, reinterpret_cast<uint8_t*>(frame.data()));
  frame.append(payload);
  return frame;
}

}  // namespace prlm::net
