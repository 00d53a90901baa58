#include "pipeline/score_file.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "common/reward/reward_client.h"
#include "common/util/check.h"
#include "common/util/json_lines.h"

namespace prlm::pipeline {

ScoreFileResult ScoreFile(const std::string& input, const net::Endpoint& server,
                          const net::ClientOptions& client_options, int batch_size, uint32_t timeout_ms,
                          std::FILE* out) {
  PRLM_REQUIRE(batch_size >= 1, "--batch-size must be positive");
  // 1. Read and check every record first, so a bad line fails before any scoring.
  std::vector<proto::ScoreItem> items;
  std::vector<size_t> lines;
  util::ForEachJsonLine(input, [&](const nlohmann::json& j, const std::string& where, size_t line) {
    proto::ScoreItem item;
    item.set_query(util::JsonLineString(j, where, "query", true));
    item.set_completion(util::JsonLineString(j, where, "completion", true));
    item.set_gold(j.contains("gold") ? util::JsonLineString(j, where, "gold", true)
                                     : util::JsonLineString(j, where, "output", false));
    item.set_user_id(util::JsonLineString(j, where, "user_id", false));
    items.push_back(std::move(item));
    lines.push_back(line);
  });
  PRLM_REQUIRE(!items.empty(), input << " holds no records");
  // 2. Score in requests of batch_size records; write in input order.
  reward::RewardClient client(server, client_options);
  ScoreFileResult result;
  result.records = items.size();
  const size_t batch = static_cast<size_t>(batch_size);
  for (size_t begin = 0; begin < items.size(); begin += batch) {
    const size_t end = std::min(items.size(), begin + batch);
    const auto reply = client.Score({items.begin() + begin, items.begin() + end}, timeout_ms);
    for (size_t i = begin; i < end; ++i) {
      nlohmann::ordered_json j;
      j["line"] = lines[i];
      if (reply.status() != proto::ScoreReply::OK) {
        j["status"] = reward::StatusName(reply.status());
        j["error"] = reply.error();
        ++result.failed;
      } else {
        const auto& scored = reply.items(static_cast<int>(i - begin));
        j["reward"] = scored.reward();
        nlohmann::ordered_json components;
        for (const auto& c : scored.components()) components[c.name()] = c.value();
        j["components"] = components;
        j["answer"] = scored.answer();
      }
      std::fprintf(out, "%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    }
  }
  return result;
}

}  // namespace prlm::pipeline
