// An offline command as an MPI job, run alone or under mpirun: every rank
// works on its share of a list (rank r of N takes items r, r + N, ...), and
// rank 0 gathers the shares back in the list's order. collect-feedback,
// collect-selection, train-retriever and train-selector run this way.
// Thread-safety: MPI from the calling thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/comm/mpi_job.h"
#include "common/comm/tensor_collectives.h"

namespace prlm::pipeline {

// Runs `body` as this process's rank (MPI starts here). Alone, an error
// propagates to the caller; under mpirun the rank aborts the whole job
// naming itself ("COMMAND rank R"), so no other rank waits on it forever.
int RunAsMpiRank(int* argc, char*** argv, const char* command,
                 const std::function<int(const comm::MpiJob& mpi, const std::string& who)>& body);

// This rank's share of `total` items: rank, rank + N, rank + 2N, ...
std::vector<size_t> RankShare(const comm::MpiJob& mpi, size_t total);

// Every rank's `lines` (its share's, in share order; none holds '\n') on
// rank 0, as one text in the list's order, a line each; true on rank 0 only.
// Aborts the job naming `who` if a rank never sends.
bool GatherInListOrder(const std::vector<std::string>& lines, size_t total, const std::string& who, std::string* all);

// The ranks' data-parallel group for a trainer (null when running alone).
std::unique_ptr<comm::TensorCollectives> DataParallelGroup(const comm::MpiJob& mpi, const char* name);

}  // namespace prlm::pipeline
