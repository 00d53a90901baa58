#include "common/comm/tensor_collectives.h"

#include <torch/torch.h>

#include <malloc.h>

#include <algorithm>
#include <thread>

#include "common/comm/mpi_job.h"
#include "common/util/check.h"
#include "common/util/poll_backoff.h"

#ifdef PRLM_WITH_NCCL
#include <cuda_runtime.h>
#include <nccl.h>
#endif

namespace prlm::comm {
namespace {

// MPI moves the bytes of a dtype it cannot sum as fp32 (sums) or as raw
// 16-bit words (broadcasts).
MPI_Datatype MpiType(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat:
      return MPI_FLOAT;
    case torch::kDouble:
      return MPI_DOUBLE;
    case torch::kBFloat16:
    case torch::kHalf:
      return MPI_UINT16_T;
    case torch::kInt:
      return MPI_INT32_T;
    case torch::kLong:
      return MPI_INT64_T;
    default:
      break;
  }
  PRLM_CHECK_MSG(false, "no MPI type for " << c10::toString(t));
  return MPI_BYTE;
}

torch::Tensor Flatten(const std::vector<torch::Tensor>& tensors, size_t first, size_t count) {
  std::vector<torch::Tensor> views;
  views.reserve(count);
  for (size_t i = first; i < first + count; ++i) views.push_back(tensors[i].detach().reshape(-1));
  return torch::cat(views);
}

// True when tensors [first, first + count) lie back to back in memory.
bool Adjacent(const std::vector<torch::Tensor>& tensors, size_t first, size_t count) {
  for (size_t i = first; i + 1 < first + count; ++i) {
    const auto* end = static_cast<const char*>(tensors[i].data_ptr()) + tensors[i].numel() * tensors[i].element_size();
    if (end != tensors[i + 1].data_ptr()) return false;
  }
  return true;
}

void Unflatten(const torch::Tensor& flat, const std::vector<torch::Tensor>& tensors, size_t first, size_t count) {
  torch::NoGradGuard no_grad;
  int64_t offset = 0;
  for (size_t i = first; i < first + count; ++i) {
    const int64_t n = tensors[i].numel();
    tensors[i].copy_(flat.narrow(0, offset, n).view(tensors[i].sizes()));
    offset += n;
  }
}

// Waits for a transfer every member has joined. MPI moves the data of a
// non-blocking collective only inside MPI calls, so long sleeps between
// tests would throttle it: poll with yields for the first 50 ms, then with
// PollBackoff's sleeps (an idle wait for a peer uses mpi_job's WaitFor).
void WaitAll(std::vector<MPI_Request>& requests, std::chrono::milliseconds timeout, const std::string& what) {
  const auto start = std::chrono::steady_clock::now();
  util::PollBackoff backoff;
  while (true) {
    int done = 0;
    PRLM_MPI_CHECK(MPI_Testall(static_cast<int>(requests.size()), requests.data(), &done, MPI_STATUSES_IGNORE));
    if (done) return;
    const auto waited = std::chrono::steady_clock::now() - start;
    if (waited >= timeout)
      AbortJob(what, "timed out after " + std::to_string(timeout.count()) +
                         " ms: a member of the group never joined (dead or stuck rank)");
    if (waited < std::chrono::milliseconds(50)) {
      std::this_thread::yield();
    } else {
      backoff.Sleep();
    }
  }
}

}  // namespace

#ifdef PRLM_WITH_NCCL
// The NCCL communicator of the group and its stream.
struct TensorCollectives::Nccl {
  ncclComm_t comm = nullptr;
  cudaStream_t stream = nullptr;
  ~Nccl() {
    if (comm) ncclCommDestroy(comm);
    if (stream) cudaStreamDestroy(stream);
  }
};

#define PRLM_NCCL_CHECK(call)                                                             \
  do {                                                                                    \
    const ncclResult_t prlm_nccl_rc_ = (call);                                            \
    if (prlm_nccl_rc_ != ncclSuccess)                                                     \
      AbortJob(__FILE__ ":" + std::to_string(__LINE__),                                   \
               std::string(#call) + " failed: " + ncclGetErrorString(prlm_nccl_rc_) +     \
                   " (hint: NCCL_DEBUG=INFO shows why; two ranks cannot share one GPU)"); \
  } while (0)

namespace {
ncclDataType_t NcclType(torch::ScalarType t) {
  switch (t) {
    case torch::kFloat:
      return ncclFloat32;
    case torch::kDouble:
      return ncclFloat64;
    case torch::kBFloat16:
      return ncclBfloat16;
    case torch::kHalf:
      return ncclFloat16;
    case torch::kInt:
      return ncclInt32;
    case torch::kLong:
      return ncclInt64;
    default:
      break;
  }
  PRLM_CHECK_MSG(false, "no NCCL type for " << c10::toString(t));
  return ncclFloat32;
}

// Waits for the stream with back-off sleeps instead of cudaStreamSynchronize's spin.
void WaitStream(cudaStream_t stream, std::chrono::milliseconds timeout, const std::string& what) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  util::PollBackoff backoff;
  while (true) {
    const cudaError_t rc = cudaStreamQuery(stream);
    if (rc == cudaSuccess) return;
    if (rc != cudaErrorNotReady) AbortJob(what, std::string("CUDA error: ") + cudaGetErrorString(rc));
    if (std::chrono::steady_clock::now() >= deadline)
      AbortJob(what, "NCCL collective timed out after " + std::to_string(timeout.count()) + " ms");
    backoff.Sleep();
  }
}
}  // namespace
#else
struct TensorCollectives::Nccl {};
#endif

TensorCollectives::TensorCollectives(MPI_Comm comm, std::string name, size_t bucket_bytes)
    : comm_(comm), name_(std::move(name)), bucket_bytes_(std::max<size_t>(bucket_bytes, 1024)) {
  MPI_Comm_rank(comm_, &rank_);
  MPI_Comm_size(comm_, &size_);
}

TensorCollectives::~TensorCollectives() = default;

std::vector<TensorCollectives::Bucket> TensorCollectives::Plan(const std::vector<torch::Tensor>& tensors) const {
  std::vector<Bucket> buckets;
  size_t bytes = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    const auto& t = tensors[i];
    PRLM_CHECK_MSG(t.defined() && t.is_contiguous(), name_ << ": tensor " << i << " is undefined or not contiguous");
    const size_t b = static_cast<size_t>(t.numel()) * t.element_size();
    if (buckets.empty() || buckets.back().dtype != t.scalar_type() || bytes + b > bucket_bytes_) {
      buckets.push_back(Bucket{i, 0, 0, t.scalar_type()});
      bytes = 0;
    }
    buckets.back().count += 1;
    buckets.back().elements += t.numel();
    bytes += b;
  }
  return buckets;
}

bool TensorCollectives::UseNccl(const std::vector<torch::Tensor>& tensors) {
  const bool cuda = !tensors.empty() && tensors[0].is_cuda();
#ifdef PRLM_WITH_NCCL
  if (cuda && !nccl_) {
    // 1. Group rank 0 makes the unique id; 2. an MPI broadcast hands it to
    // every member; 3. each member joins the communicator on its GPU.
    ncclUniqueId id;
    if (rank_ == 0) PRLM_NCCL_CHECK(ncclGetUniqueId(&id));
    MPI_Request request;
    PRLM_MPI_CHECK(MPI_Ibcast(&id, sizeof id, MPI_BYTE, 0, comm_, &request));
    if (!WaitFor(&request, std::chrono::minutes(5))) AbortJob(name_, "NCCL bootstrap: the id broadcast timed out");
    nccl_ = std::make_unique<Nccl>();
    cudaSetDevice(tensors[0].get_device());
    cudaStreamCreateWithFlags(&nccl_->stream, cudaStreamNonBlocking);
    PRLM_NCCL_CHECK(ncclCommInitRank(&nccl_->comm, size_, id, rank_));
  }
  return cuda;
#else
  PRLM_REQUIRE(!cuda, name_ << ": tensors are on CUDA but this build has no NCCL (configure with NCCL headers "
                               "and libraries, e.g. -DNCCL_ROOT=...)");
  return false;
#endif
}

void TensorCollectives::AllReduceSum(const std::vector<torch::Tensor>& tensors, std::chrono::milliseconds timeout) {
  Run(tensors, /*sum=*/true, 0, timeout);
}

void TensorCollectives::Broadcast(const std::vector<torch::Tensor>& tensors, int root,
                                  std::chrono::milliseconds timeout) {
  Run(tensors, /*sum=*/false, root, timeout);
}

void TensorCollectives::Run(const std::vector<torch::Tensor>& tensors, bool sum, int root,
                            std::chrono::milliseconds timeout) {
  const auto buckets = Plan(tensors);
  last_buckets_ = buckets.size();
  last_bytes_ = 0;
  const bool nccl = UseNccl(tensors);
  last_transport_ = nccl ? "nccl" : "mpi";
  // 1. Pack each bucket (a broadcast's receivers only need the space).
  std::vector<torch::Tensor> flats;
  for (const auto& b : buckets) {
    torch::Tensor flat;
    const bool widen = sum && !nccl && (b.dtype == torch::kBFloat16 || b.dtype == torch::kHalf);
    if (!widen && Adjacent(tensors, b.first, b.count))  // in place: no copies
      flat = torch::from_blob(tensors[b.first].data_ptr(), {b.elements}, tensors[b.first].options());
    else if (sum || rank_ == root)
      flat = Flatten(tensors, b.first, b.count);
    else
      flat = torch::empty({b.elements}, tensors[b.first].options());
    // MPI cannot sum 16-bit floats: sum them as fp32.
    if (widen) flat = flat.to(torch::kFloat);
    last_bytes_ += static_cast<size_t>(flat.numel()) * flat.element_size();
    flats.push_back(std::move(flat));
  }
  // 2. Start every bucket's collective, then wait for all of them.
  const std::string what = name_ + (sum ? " all-reduce" : " broadcast");
  if (nccl) {
#ifdef PRLM_WITH_NCCL
    PRLM_NCCL_CHECK(ncclGroupStart());
    for (auto& f : flats) {
      const size_t n = static_cast<size_t>(f.numel());
      if (sum)
        PRLM_NCCL_CHECK(ncclAllReduce(f.data_ptr(), f.data_ptr(), n, NcclType(f.scalar_type()), ncclSum, nccl_->comm,
                                      nccl_->stream));
      else
        PRLM_NCCL_CHECK(
            ncclBroadcast(f.data_ptr(), f.data_ptr(), n, NcclType(f.scalar_type()), root, nccl_->comm, nccl_->stream));
    }
    PRLM_NCCL_CHECK(ncclGroupEnd());
    WaitStream(nccl_->stream, timeout, what);
#endif
  } else {
    std::vector<MPI_Request> requests(flats.size());
    for (size_t i = 0; i < flats.size(); ++i) {
      const int n = static_cast<int>(flats[i].numel());
      const MPI_Datatype type = MpiType(flats[i].scalar_type());
      if (sum)
        PRLM_MPI_CHECK(MPI_Iallreduce(MPI_IN_PLACE, flats[i].data_ptr(), n, type, MPI_SUM, comm_, &requests[i]));
      else
        PRLM_MPI_CHECK(MPI_Ibcast(flats[i].data_ptr(), n, type, root, comm_, &requests[i]));
    }
    WaitAll(requests, timeout, what);
  }
  // 3. Unpack into the tensors.
  if (sum || rank_ != root)
    for (size_t i = 0; i < buckets.size(); ++i)
      if (flats[i].data_ptr() != tensors[buckets[i].first].data_ptr())
        Unflatten(flats[i].to(buckets[i].dtype), tensors, buckets[i].first, buckets[i].count);
}

void PackIntoBuckets(const std::vector<torch::Tensor>& tensors, bool with_grads, size_t bucket_bytes) {
  torch::NoGradGuard no_grad;
  size_t i = 0;
  while (i < tensors.size()) {
    // The same cut as TensorCollectives::Plan.
    size_t end = i, bytes = 0;
    int64_t elements = 0;
    while (end < tensors.size() && tensors[end].scalar_type() == tensors[i].scalar_type()) {
      const size_t b = static_cast<size_t>(tensors[end].numel()) * tensors[end].element_size();
      if (end > i && bytes + b > std::max<size_t>(bucket_bytes, 1024)) break;
      bytes += b;
      elements += tensors[end].numel();
      ++end;
    }
    auto buffer = torch::empty({elements}, tensors[i].options());
    auto grads = with_grads ? torch::zeros({elements}, tensors[i].options()) : torch::Tensor();
    int64_t offset = 0;
    for (size_t j = i; j < end; ++j) {
      torch::Tensor t = tensors[j];
      const int64_t n = t.numel();
      auto view = buffer.narrow(0, offset, n).view(t.sizes());
      view.copy_(t);
      t.set_data(view);
      if (with_grads) t.mutable_grad() = grads.narrow(0, offset, n).view(t.sizes());
      offset += n;
    }
    i = end;
  }
  // The tensors' old storage is free now; glibc keeps freed blocks under its
  // mmap threshold (32 MiB at most) in the heap, which held a second copy of
  // the model in the resident set (a 105M-parameter rollout worker's peak:
  // 1,291 MiB without this trim, 1,087 with it).
  malloc_trim(0);
}

void BroadcastWeights(TensorCollectives& group, int64_t* version, const std::vector<torch::Tensor>& weights,
                      std::chrono::milliseconds timeout) {
  auto stamp = torch::full({1}, *version, torch::kLong);
  if (!weights.empty() && weights[0].is_cuda()) stamp = stamp.to(weights[0].device());
  std::vector<torch::Tensor> all{stamp};
  all.insert(all.end(), weights.begin(), weights.end());
  group.Broadcast(all, 0, timeout);
  *version = stamp.cpu().item<int64_t>();
}

}  // namespace prlm::comm
