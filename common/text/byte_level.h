// GPT-2's reversible byte <-> printable-character table, used by byte-level BPE
// (Qwen2/Qwen3, Llama-3): each of the 256 byte values maps to one visible
// Unicode character so that vocabularies can be stored as JSON strings.
// Thread-safe: the tables are built once, then read-only.
#pragma once

#include <array>
#include <optional>
#include <string>
#include <string_view>

namespace prlm::text {

// UTF-8 of the character standing for `byte`.
const std::string& ByteToChars(uint8_t byte);
// The byte a mapped character stands for, or nullopt if it is not one.
std::optional<uint8_t> CharToByte(char32_t cp);
// Maps every byte of `raw` to its character.
std::string BytesToChars(std::string_view raw);
// Inverse of BytesToChars; characters outside the table are kept as UTF-8.
std::string CharsToBytes(std::string_view mapped);

}  // namespace prlm::text
