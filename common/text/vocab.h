// Token string <-> id table shared by the BPE and WordPiece models.
// Immutable after construction; thread-safe to read.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace prlm::text {

class Vocab {
 public:
  // Registers `token` as `id`. A duplicated token or id throws util::Error.
  void Add(const std::string& token, int32_t id);
  std::optional<int32_t> Find(std::string_view token) const;
  // The token string of `id`, or "" if none.
  const std::string& Token(int32_t id) const;
  // One past the largest id.
  int32_t end_id() const { return static_cast<int32_t>(by_id_.size()); }
  size_t size() const { return by_token_.size(); }

 private:
  struct Hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::unordered_map<std::string, int32_t, Hash, std::equal_to<>> by_token_;
  std::vector<std::string> by_id_;
  std::vector<bool> used_;
};

}  // namespace prlm::text
