// Collectives over lists of tensors, in large buckets: the gradient
// all-reduce between learners and the weight broadcast from learner 0 to the
// rollout workers.
//
// Tensors are grouped, in order, into buckets of at most `bucket_bytes`
// (a tensor larger than that gets a bucket of its own; a bucket holds one
// dtype), every bucket's collective is started at once and then all are
// waited on. A bucket whose tensors already lie back to back in memory
// (PackIntoBuckets) is sent in place; others are packed into a flat copy and
// copied back. So a model of hundreds of tensors moves as a few large
// messages, never one per tensor.
//
// Transport: NCCL when the tensors are on CUDA and this build has NCCL
// (PRLM_WITH_NCCL: CUDA and NCCL headers and libraries were found; the
// communicator is bootstrapped on first use with ncclGetUniqueId on group
// rank 0, an MPI broadcast of the id, and ncclCommInitRank); MPI otherwise.
// MPI waits poll with back-off (mpi_job.h), NCCL waits poll the stream with
// back-off, so no rank spins a core while it waits.
//
// Every collective takes a timeout; on timeout the job is aborted naming the
// collective and the group, so no rank waits forever on a dead peer.
//
// Thread-safety: one collective at a time, from the rank's MPI thread. Every
// member of the group must call the same collectives in the same order with
// tensors of the same shapes and dtypes.
#pragma once

#include <mpi.h>
#include <torch/types.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace prlm::comm {

class TensorCollectives {
 public:
  static constexpr size_t kDefaultBucketBytes = size_t{32} << 20;

  // `name` appears in errors ("learners", "weight sync"). Does not take
  // ownership of `comm`.
  TensorCollectives(MPI_Comm comm, std::string name, size_t bucket_bytes = kDefaultBucketBytes);
  ~TensorCollectives();

  // Element-wise sum over the group, in place. REQUIRES: floating tensors
  // (MPI sums bf16 / fp16 by way of fp32).
  void AllReduceSum(const std::vector<torch::Tensor>& tensors, std::chrono::milliseconds timeout);
  // Every member's tensors become `root`'s, bit for bit.
  void Broadcast(const std::vector<torch::Tensor>& tensors, int root, std::chrono::milliseconds timeout);

  int rank() const { return rank_; }
  int size() const { return size_; }
  // Statistics of the last collective: buckets and payload bytes.
  size_t last_buckets() const { return last_buckets_; }
  size_t last_bytes() const { return last_bytes_; }
  // "nccl" or "mpi": what the last collective used.
  const char* last_transport() const { return last_transport_; }

 private:
  struct Bucket {
    size_t first = 0, count = 0;  // tensors [first, first + count)
    int64_t elements = 0;
    torch::ScalarType dtype = torch::kFloat;
  };
  std::vector<Bucket> Plan(const std::vector<torch::Tensor>& tensors) const;
  // An all-reduce (sum) or a broadcast from `root`, bucketed.
  void Run(const std::vector<torch::Tensor>& tensors, bool sum, int root, std::chrono::milliseconds timeout);
  bool UseNccl(const std::vector<torch::Tensor>& tensors);

  MPI_Comm comm_;
  std::string name_;
  size_t bucket_bytes_;
  int rank_ = 0, size_ = 1;
  size_t last_buckets_ = 0, last_bytes_ = 0;
  const char* last_transport_ = "mpi";
  struct Nccl;
  std::unique_ptr<Nccl> nccl_;
};

// Moves `tensors` (and, when given, their gradients) into one contiguous
// buffer per bucket, as TensorCollectives with `bucket_bytes` plans them: each
// tensor becomes a view of its bucket (set_data; values kept, gradients
// zeroed). Collectives over them then move the buffers themselves, with no
// packing copies. REQUIRES: before an optimizer takes the tensors.
void PackIntoBuckets(const std::vector<torch::Tensor>& tensors, bool with_grads,
                     size_t bucket_bytes = TensorCollectives::kDefaultBucketBytes);

// Weight sync: root's *version and weights replace every member's. The
// version travels in the same collective, so a member never holds weights of
// one version stamped with another.
void BroadcastWeights(TensorCollectives& group, int64_t* version, const std::vector<torch::Tensor>& weights,
                      std::chrono::milliseconds timeout);

}  // namespace prlm::comm
