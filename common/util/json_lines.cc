#include "common/util/json_lines.h"

#include <fstream>

#include "common/util/check.h"

namespace prlm::util {

void ForEachJsonLine(
    const std::string& path,
    const std::function<void(const nlohmann::json& object, const std::string& where, size_t line)>& fn) {
  std::ifstream in(path, std::ios::binary);
  PRLM_REQUIRE(in, "cannot open '" << path << "'");
  size_t line_no = 0;
  for (std::string line; std::getline(in, line);) {
    ++line_no;
    if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
    const std::string where = path + ":" + std::to_string(line_no);
    nlohmann::json j;
    try {
      j = nlohmann::json::parse(line);
    } catch (const nlohmann::json::exception& e) {
      PRLM_THROW(where << ": not valid JSON: " << e.what());
    }
    PRLM_REQUIRE(j.is_object(), where << ": expected a JSON object");
    fn(j, where, line_no);
  }
}

std::string JsonLineString(const nlohmann::json& object, const std::string& where, const char* name, bool required) {
  const auto it = object.find(name);
  if (it == object.end()) {
    PRLM_REQUIRE(!required, where << ": missing field \"" << name << "\"");
    return {};
  }
  if (it->is_number_integer()) return std::to_string(it->get<int64_t>());
  PRLM_REQUIRE(it->is_string(), where << ": field \"" << name << "\" must be a string");
  return it->get<std::string>();
}

}  // namespace prlm::util
