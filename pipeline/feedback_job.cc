#include "pipeline/feedback_job.h"

#include <algorithm>
#include <cstdio>

#include "common/util/file.h"
#include "pipeline/rank_share.h"

namespace prlm::pipeline {

FeedbackScorer InProcessScorer(std::unique_ptr<reward_server::RewardScorer> scorer) {
  FeedbackScorer s;
  s.scorer = std::move(scorer);
  s.score = [scorer = s.scorer.get()](proto::ScoreRequest request) { return scorer->ScoreNow(std::move(request)); };
  return s;
}

FeedbackScorer RemoteScorer(const net::Endpoint& server, const net::ClientOptions& client) {
  FeedbackScorer s;
  s.client = std::make_unique<reward::RewardClient>(server, client);
  s.score = [client = s.client.get()](proto::ScoreRequest request) {
    return client->Score({request.items().begin(), request.items().end()});
  };
  return s;
}

bool CollectOnRanks(const comm::MpiJob& mpi, const std::string& who, size_t total, const std::string& path,
                    const CollectShare& collect) {
  // 1. This rank's share.
  const auto mine = RankShare(mpi, total);
  const size_t every = std::max<size_t>(1, mine.size() / 10);
  const auto records = collect(mine, [&who, every](size_t done, size_t of) {
    if (done % every == 0 || done == of) std::fprintf(stderr, "%s: %zu/%zu questions\n", who.c_str(), done, of);
  });
  // 2. Every share on rank 0, written in the split's order.
  std::vector<std::string> lines;
  for (const auto& r : records) lines.push_back(FeedbackLine(r));
  std::string all;
  if (!GatherInListOrder(lines, total, who, &all)) return false;
  util::WriteFileAtomic(path, all);
  return true;
}

}  // namespace prlm::pipeline
