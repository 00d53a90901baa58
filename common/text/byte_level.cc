#include "common/text/byte_level.h"

#include <unordered_map>

#include "common/text/unicode.h"

namespace prlm::text {
namespace {

struct Tables {
  std::array<std::string, 256> to_chars;
  std::unordered_map<char32_t, uint8_t> to_byte;
  Tables() {
    // Printable bytes stand for themselves; the rest are shifted to 256+n.
    int shifted = 0;
    for (int b = 0; b < 256; ++b) {
      const bool printable = (b >= '!' && b <= '~') || (b >= 0xA1 && b <= 0xAC) || (b >= 0xAE && b <= 0xFF);
      const char32_t cp = printable ? b : 256 + shifted++;
      AppendUtf8(to_chars[b], cp);
      to_byte[cp] = static_cast<uint8_t>(b);
    }
  }
};

const Tables& GetTables() {
  static const Tables tables;
  return tables;
}

}  // namespace

const std::string& ByteToChars(uint8_t byte) { return GetTables().to_chars[byte]; }

std::optional<uint8_t> CharToByte(char32_t cp) {
  const auto& m = GetTables().to_byte;
  const auto it = m.find(cp);
  if (it == m.end()) return std::nullopt;
  return it->second;
}

std::string BytesToChars(std::string_view raw) {
  std::string out;
  out.reserve(raw.size() * 2);
  for (char c : raw) out += ByteToChars(static_cast<uint8_t>(c));
  return out;
}

std::string CharsToBytes(std::string_view mapped) {
  std::string out;
  out.reserve(mapped.size());
  for (size_t pos = 0; pos < mapped.size();) {
    const char32_t cp = NextCodepoint(mapped, pos);
    if (auto b = CharToByte(cp)) {
      out.push_back(static_cast<char>(*b));
    } else {
      AppendUtf8(out, cp);
    }
  }
  return out;
}

}  // namespace prlm::text
