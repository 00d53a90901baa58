#include "common/data/reasoning_file.h"

#include <nlohmann/json.hpp>

#include <cctype>
#include <sstream>

#include "common/util/check.h"
#include "common/util/file.h"
#include "common/util/json_lines.h"

namespace prlm::data {
namespace {

// Lower-cased words.
std::vector<std::string> Words(const std::string& text) {
  std::vector<std::string> out;
  std::istringstream in(text);
  for (std::string w; in >> w;) {
    for (auto& c : w) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    out.push_back(w);
  }
  return out;
}

std::string Joined(const std::vector<std::string>& words, size_t from, size_t count) {
  std::string out;
  for (size_t i = from; i < from + count; ++i) out += " " + words[i];
  return out + " ";
}

}  // namespace

bool LeaksOutput(const std::string& reasoning, const std::string& output) {
  const auto out = Words(output);
  if (out.empty()) return false;
  const auto words = Words(reasoning);
  const std::string haystack = Joined(words, 0, words.size());
  const size_t span = std::min<size_t>(out.size(), 8);
  for (size_t i = 0; i + span <= out.size(); ++i)
    if (haystack.find(Joined(out, i, span)) != std::string::npos) return true;
  return false;
}

void WriteReasoningFile(const std::string& path, const std::vector<ReasoningPath>& paths) {
  std::string lines;
  for (const auto& p : paths)
    lines +=
        nlohmann::ordered_json{
            {"id", p.id}, {"user_id", p.user_id}, {"reasoning", p.reasoning}, {"writer", p.writer}, {"leaks", p.leaks}}
            .dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) +
        "\n";
  util::WriteFileAtomic(path, lines);
}

std::map<std::string, ReasoningPath> ReadReasoningFile(const std::string& path) {
  std::map<std::string, ReasoningPath> out;
  util::ForEachJsonLine(path, [&](const nlohmann::json& j, const std::string& where, size_t) {
    ReasoningPath p;
    p.id = util::JsonLineString(j, where, "id", true);
    p.user_id = util::JsonLineString(j, where, "user_id", false);
    p.reasoning = util::JsonLineString(j, where, "reasoning", true);
    p.writer = util::JsonLineString(j, where, "writer", false);
    PRLM_REQUIRE(!p.id.empty(), where << ": \"id\" is empty");
    PRLM_REQUIRE(!p.reasoning.empty(), where << ": \"reasoning\" of " << p.id << " is empty");
    if (j.contains("leaks")) {
      PRLM_REQUIRE(j["leaks"].is_boolean(), where << ": \"leaks\" must be true or false");
      p.leaks = j["leaks"].get<bool>();
    }
    const std::string id = p.id;
    PRLM_REQUIRE(out.emplace(id, std::move(p)).second, where << ": question " << id << " has a reasoning already");
  });
  return out;
}

}  // namespace prlm::data
