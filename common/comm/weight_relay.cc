#include "common/comm/weight_relay.h"

#include <algorithm>
#include <cstring>

#include "common/comm/weight_delta.h"
#include "common/net/message_types.h"
#include "common/util/check.h"
#include "common/util/crc32c.h"

namespace prlm::comm {

namespace {

uint64_t TotalBytes(const std::vector<torch::Tensor>& tensors) {
  uint64_t total = 0;
  for (const auto& t : tensors) total += t.numel() * t.element_size();
  return total;
}

}  // namespace

WeightStore::WeightStore(size_t chunk_bytes, size_t keep) : chunk_bytes_(chunk_bytes), keep_(keep) {
  PRLM_CHECK(chunk_bytes > 0 && keep >= 1);
}

uint32_t WeightStore::CountOf(uint64_t total_bytes) const {
  return static_cast<uint32_t>(std::max<uint64_t>(1, (total_bytes + chunk_bytes_ - 1) / chunk_bytes_));
}

WeightStore::Version& WeightStore::Open(int64_t version, uint64_t total_bytes) {
  auto it = versions_.find(version);
  if (it != versions_.end()) return it->second;
  Version& v = versions_[version];
  v.bytes.resize(total_bytes);
  v.have.assign(CountOf(total_bytes), false);
  v.opened = ++opened_;
  // Forget the least recently opened (not always the oldest version: a
  // worker may fetch an older version again for a re-issued item).
  while (versions_.size() > keep_)
    versions_.erase(std::min_element(versions_.begin(), versions_.end(),
                                     [](const auto& a, const auto& b) { return a.second.opened < b.second.opened; }));
  return v;
}

void WeightStore::Publish(int64_t version, const std::vector<torch::Tensor>& tensors) {
  std::string bytes(TotalBytes(tensors), '\0');
  size_t at = 0;
  for (const auto& t : tensors) {
    const torch::Tensor c = t.detach().to(torch::kCPU).contiguous();
    const size_t n = static_cast<size_t>(c.numel() * c.element_size());
    std::memcpy(bytes.data() + at, c.data_ptr(), n);
    at += n;
  }
  PublishBytes(version, std::move(bytes));
}

void WeightStore::PublishBytes(int64_t version, std::string bytes) {
  std::lock_guard<std::mutex> lock(mu_);
  versions_.erase(version);
  Version& v = Open(version, bytes.size());
  v.bytes = std::move(bytes);
  v.have.assign(v.have.size(), true);
  v.held = static_cast<uint32_t>(v.have.size());
  arrived_.notify_all();
}

proto::WeightChunk WeightStore::Chunk(int64_t version, uint32_t index, std::chrono::milliseconds wait,
                                      int64_t base) const {
  std::unique_lock<std::mutex> lock(mu_);
  const auto held = [&] {
    const auto it = versions_.find(version);
    return it != versions_.end() && index < it->second.have.size() && it->second.have[index];
  };
  const auto hopeless = [&] {
    if (versions_.empty()) return false;
    if (version < versions_.begin()->first) return true;  // forgotten: it will not come back
    const auto it = versions_.find(version);
    return it != versions_.end() && index >= it->second.have.size();
  };
  arrived_.wait_for(lock, wait, [&] { return held() || hopeless(); });
  if (!held()) {
    std::string holds;
    for (const auto& [v, data] : versions_)
      holds += (holds.empty() ? "" : ", ") + ("v" + std::to_string(v)) + " (" + std::to_string(data.held) + "/" +
               std::to_string(data.have.size()) + " chunks)";
    PRLM_THROW("no chunk " << index << " of weight version " << version << " here after "
                           << static_cast<double>(wait.count()) / 1000 << " s; this store holds "
                           << (holds.empty() ? "nothing" : holds));
  }
  const Version& v = versions_.at(version);
  proto::WeightChunk c;
  c.set_version(version);
  c.set_index(index);
  c.set_count(static_cast<uint32_t>(v.have.size()));
  c.set_total_bytes(v.bytes.size());
  const size_t begin = index * chunk_bytes_;
  const size_t end = std::min(v.bytes.size(), begin + chunk_bytes_);
  const std::string_view bytes = std::string_view(v.bytes).substr(begin, end - begin);
  c.set_crc32c(util::Crc32c(bytes));
  const auto b = versions_.find(base);
  if (base >= 0 && base != version && b != versions_.end() && b->second.held == b->second.have.size() &&
      b->second.bytes.size() == v.bytes.size() && bytes.size() % 2 == 0) {
    std::string delta;
    if (EncodeWordDelta(std::string_view(b->second.bytes).substr(begin, end - begin), bytes, bytes.size(), &delta)) {
      c.set_delta(true);
      c.set_base_version(base);
      c.set_data(std::move(delta));
    }
  }
  if (!c.delta()) c.set_data(std::string(bytes));
  bytes_served_ += c.data().size();
  return c;
}

void WeightStore::Put(const proto::WeightChunk& chunk) {
  std::lock_guard<std::mutex> lock(mu_);
  const uint32_t count = CountOf(chunk.total_bytes());
  PRLM_REQUIRE(chunk.count() == count && chunk.index() < count,
               "weight version " << chunk.version() << ": chunk " << chunk.index() << " of " << chunk.count()
                                 << " does not fit " << chunk.total_bytes() << " bytes in chunks of " << chunk_bytes_
                                 << " (a source with another chunk size)");
  const size_t begin = chunk.index() * chunk_bytes_;
  const size_t expected = std::min<size_t>(chunk.total_bytes(), begin + chunk_bytes_) - begin;
  // A delta first, from its base (opening a new version may forget the base).
  std::string applied;
  if (chunk.delta()) {
    const auto b = versions_.find(chunk.base_version());
    PRLM_REQUIRE(b != versions_.end() && b->second.held == b->second.have.size() &&
                     b->second.bytes.size() == chunk.total_bytes(),
                 "weight version " << chunk.version() << ": chunk " << chunk.index() << " is a delta against v"
                                   << chunk.base_version() << ", which this store does not hold whole");
    applied = ApplyWordDelta(std::string_view(b->second.bytes).substr(begin, expected), chunk.data());
  }
  const std::string& data = chunk.delta() ? applied : chunk.data();
  PRLM_REQUIRE(data.size() == expected, "weight version " << chunk.version() << ": chunk " << chunk.index() << " holds "
                                                          << data.size() << " bytes, expected " << expected);
  PRLM_REQUIRE(util::Crc32c(data) == chunk.crc32c(),
               "weight version " << chunk.version() << ": chunk " << chunk.index() << " fails its CRC-32C"
                                 << (chunk.delta() ? " after its delta against v" +
                                                         std::to_string(chunk.base_version()) + " was applied"
                                                   : ""));
  Version& v = Open(chunk.version(), chunk.total_bytes());
  PRLM_REQUIRE(v.bytes.size() == chunk.total_bytes(), "weight version " << chunk.version() << ": a chunk says "
                                                                        << chunk.total_bytes() << " bytes, the first "
                                                                        << v.bytes.size());
  if (v.have[chunk.index()]) return;
  std::memcpy(v.bytes.data() + begin, data.data(), expected);
  v.have[chunk.index()] = true;
  ++v.held;
  arrived_.notify_all();
}

uint32_t WeightStore::FirstMissing(int64_t version) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = versions_.find(version);
  if (it == versions_.end()) return 0;
  const auto& have = it->second.have;
  return static_cast<uint32_t>(std::find(have.begin(), have.end(), false) - have.begin());
}

bool WeightStore::Complete(int64_t version) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = versions_.find(version);
  return it != versions_.end() && it->second.held == it->second.have.size();
}

void WeightStore::CopyInto(int64_t version, const std::vector<torch::Tensor>& tensors) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = versions_.find(version);
  PRLM_CHECK_MSG(it != versions_.end() && it->second.held == it->second.have.size(),
                 "weight version " << version << " is not complete");
  const std::string& bytes = it->second.bytes;
  PRLM_REQUIRE(bytes.size() == TotalBytes(tensors),
               "weight version " << version << " is " << bytes.size() << " bytes; this worker's " << tensors.size()
                                 << " trainable tensors take " << TotalBytes(tensors)
                                 << " (a different model, dtype or LoRA setting than learner 0's)");
  torch::NoGradGuard no_grad;
  size_t at = 0;
  for (const auto& t : tensors) {
    const size_t n = static_cast<size_t>(t.numel() * t.element_size());
    const torch::Tensor src =
        torch::from_blob(const_cast<char*>(bytes.data() + at), t.sizes(), torch::TensorOptions().dtype(t.dtype()));
    t.copy_(src);
    at += n;
  }
}

std::string WeightStore::Bytes(int64_t version) const {
  std::lock_guard<std::mutex> lock(mu_);
  const auto it = versions_.find(version);
  PRLM_REQUIRE(it != versions_.end() && it->second.held == it->second.have.size(),
               "weight version " << version << " is not complete in this store");
  return it->second.bytes;
}

uint64_t WeightStore::bytes_served() const {
  std::lock_guard<std::mutex> lock(mu_);
  return bytes_served_;
}

void ServeWeights(net::RpcServer& server, const WeightStore& store, std::chrono::milliseconds wait) {
  server.Handle(net::kWeightChunkRequest, [&store, wait](const std::string& payload) {
    proto::WeightChunkRequest request;
    if (!request.ParseFromString(payload)) throw net::BadPayload("not a WeightChunkRequest");
    const int64_t base = request.delta() ? request.base_version() : -1;
    return net::Reply{net::kWeightChunk,
                      store.Chunk(request.version(), request.index(), wait, base).SerializeAsString()};
  });
}

uint64_t FetchWeights(net::RpcClient& source, int64_t version, WeightStore* store, std::chrono::milliseconds timeout,
                      int64_t base) {
  uint64_t fetched = 0;
  for (uint32_t i = store->FirstMissing(version); !store->Complete(version); ++i) {
    proto::WeightChunkRequest request;
    request.set_version(version);
    request.set_index(i);
    // A delta while the base is whole here (a store may forget it for a
    // version it opens later; then the chunks come whole).
    if (base >= 0 && base != version && store->Complete(base)) {
      request.set_delta(true);
      request.set_base_version(base);
    }
    const auto response = source.Call(net::kWeightChunkRequest, request.SerializeAsString(), timeout);
    proto::WeightChunk chunk;
    PRLM_REQUIRE(response.type == net::kWeightChunk && chunk.ParseFromString(response.payload),
                 source.endpoint().ToString() << ": the answer to a weight chunk request is not a WeightChunk");
    PRLM_REQUIRE(chunk.version() == version && chunk.index() == i,
                 source.endpoint().ToString() << " sent chunk " << chunk.index() << " of v" << chunk.version()
                                              << " for chunk " << i << " of v" << version);
    store->Put(chunk);
    fetched += chunk.data().size();
  }
  return fetched;
}

}  // namespace prlm::comm
