#include "common/text/vocab.h"

#include "common/util/check.h"

namespace prlm::text {

void Vocab::Add(const std::string& token, int32_t id) {
  PRLM_REQUIRE(id >= 0, "tokenizer.json: negative id " << id << " for token '" << token << "'");
  if (static_cast<size_t>(id) >= by_id_.size()) {
    by_id_.resize(id + 1);
    used_.resize(id + 1, false);
  }
  PRLM_REQUIRE(!used_[id],
               "tokenizer.json: id " << id << " is given to both '" << by_id_[id] << "' and '" << token << "'");
  PRLM_REQUIRE(by_token_.emplace(token, id).second,
               "tokenizer.json: token '" << token << "' appears twice in the vocabulary");
  by_id_[id] = token;
  used_[id] = true;
}

std::optional<int32_t> Vocab::Find(std::string_view token) const {
  const auto it = by_token_.find(token);
  if (it == by_token_.end()) return std::nullopt;
  return it->second;
}

const std::string& Vocab::Token(int32_t id) const {
  static const std::string kEmpty;
  if (id < 0 || static_cast<size_t>(id) >= by_id_.size()) return kEmpty;
  return by_id_[id];
}

}  // namespace prlm::text
