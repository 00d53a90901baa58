#include "pipeline/rank_share.h"

#include <exception>

#include "common/comm/job_messages.h"
#include "common/util/check.h"

namespace prlm::pipeline {

int RunAsMpiRank(int* argc, char*** argv, const char* command,
                 const std::function<int(const comm::MpiJob& mpi, const std::string& who)>& body) {
  comm::MpiJob mpi(argc, argv);
  const std::string who = std::string(command) + " rank " + std::to_string(mpi.rank());
  try {
    return body(mpi, who);
  } catch (const std::exception& e) {
    if (mpi.size() == 1) throw;
    comm::AbortJob(who, e.what());
  }
}

std::vector<size_t> RankShare(const comm::MpiJob& mpi, size_t total) {
  std::vector<size_t> mine;
  for (size_t i = static_cast<size_t>(mpi.rank()); i < total; i += static_cast<size_t>(mpi.size())) mine.push_back(i);
  return mine;
}

bool GatherInListOrder(const std::vector<std::string>& lines, size_t total, const std::string& who, std::string* all) {
  std::string text;
  for (const auto& line : lines) text += line + "\n";
  std::vector<std::string> shares;
  if (!comm::GatherStrings(MPI_COMM_WORLD, text, 0, comm::kForever, &shares))
    comm::AbortJob(who, "gathering the ranks' shares timed out");
  if (shares.empty()) return false;                              // not rank 0
  std::vector<std::vector<std::string>> by_rank(shares.size());  // each share's lines
  for (size_t r = 0; r < shares.size(); ++r)
    for (size_t at = 0, end; at < shares[r].size(); at = end + 1) {
      end = shares[r].find('\n', at);
      by_rank[r].push_back(shares[r].substr(at, end - at));
    }
  all->clear();
  for (size_t i = 0; i < total; ++i) {
    const auto& rank_lines = by_rank[i % by_rank.size()];
    PRLM_CHECK(i / by_rank.size() < rank_lines.size());
    *all += rank_lines[i / by_rank.size()] + "\n";
  }
  return true;
}

std::unique_ptr<comm::TensorCollectives> DataParallelGroup(const comm::MpiJob& mpi, const char* name) {
  if (mpi.size() == 1) return nullptr;
  return std::make_unique<comm::TensorCollectives>(MPI_COMM_WORLD, name);
}

}  // namespace prlm::pipeline
