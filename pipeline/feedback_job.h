// What collect-feedback and collect-selection (ROPG, RSPG) share around the
// collection itself (pipeline/retriever_feedback.h, retriever_selection.h):
// the scorer (in process, or the job's reward server), progress lines, and
// rank 0 writing every rank's records in the split's order.
//
// Thread-safety: a FeedbackScorer is used by one thread; CollectOnRanks is a
// collective over the MPI job.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/comm/mpi_job.h"
#include "common/net/rpc_client.h"
#include "common/reward/reward_client.h"
#include "pipeline/retriever_feedback.h"
#include "reward_server/reward_scorer.h"

namespace prlm::pipeline {

struct FeedbackScorer {
  std::unique_ptr<reward_server::RewardScorer> scorer;  // in process
  std::unique_ptr<reward::RewardClient> client;         // or a reward server
  ScoreFn score;                                        // whichever it is
};

// REQUIRES: `scorer` built from the job's reward section (MakeRewardScorer).
FeedbackScorer InProcessScorer(std::unique_ptr<reward_server::RewardScorer> scorer);
FeedbackScorer RemoteScorer(const net::Endpoint& server, const net::ClientOptions& client);

// Collects the records of `mine` (indexes into the split), calling
// `progress` after each question.
using CollectShare =
    std::function<std::vector<FeedbackRecord>(const std::vector<size_t>& mine, const FeedbackProgress& progress)>;

// 1. This rank's share of the split's `total` questions (RankShare) through
//    `collect`, with progress lines "WHO: done/total questions" on stderr
//    about every tenth of the share;
// 2. every share reaches rank 0, which writes all `total` records to `path`
//    in the split's order. True on rank 0.
bool CollectOnRanks(const comm::MpiJob& mpi, const std::string& who, size_t total, const std::string& path,
                    const CollectShare& collect);

}  // namespace prlm::pipeline
