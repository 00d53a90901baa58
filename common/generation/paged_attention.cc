#include "common/generation/paged_attention.h"

#include <ATen/Parallel.h>

#include <algorithm>
#include <cmath>
#include <limits>

#include "common/generation/vector_math.h"
#include "common/util/check.h"

namespace prlm::generation {

void AttentionBatch::Add(const std::vector<int32_t>& blocks, int32_t first_position, int64_t count) {
  Sequence s;
  s.first_token = tokens();
  s.tokens = count;
  s.blocks = blocks;
  const int32_t index = static_cast<int32_t>(sequences.size());
  sequences.push_back(std::move(s));
  for (int64_t i = 0; i < count; ++i) {
    positions.push_back(first_position + static_cast<int32_t>(i));
    sequence_of.push_back(index);
  }
}

namespace {

// Query-key products in a step below which the kernel runs on one thread.
constexpr int64_t kParallelKeys = 16384;

// scores[g * stride + j] = q[g] . k[j] for `group` queries and a whole
// block of `BS` keys, stored transposed ([dim][BS]): each step of the loop
// over dim is one multiply-add across the block's positions, accumulated in
// registers.
template <int BS>
inline void BlockScoresOf(const float* q, const float* kt, int64_t group, int64_t dim, float* scores,
                          int64_t stride) {
  for (int64_t g = 0; g < group; ++g) {
    float acc[BS] = {};
    for (int64_t d = 0; d < dim; ++d) {
      const float qd = q[g * dim + d];
      const float* kd = kt + d * BS;
#pragma omp simd
      for (int j = 0; j < BS; ++j) acc[j] += qd * kd[j];
    }
    std::copy_n(acc, BS, scores + g * stride);
  }
}

PRLM_VECTOR_CLONES
void BlockScores(const float* q, const float* kt, int64_t group, int64_t bs, int64_t dim, float* scores,
                 int64_t stride) {
  if (bs == 16) return BlockScoresOf<16>(q, kt, group, dim, scores, stride);
  for (int64_t g = 0; g < group; ++g) {
    float* s = scores + g * stride;
    std::fill_n(s, bs, 0.0f);
    for (int64_t d = 0; d < dim; ++d) {
      const float qd = q[g * dim + d];
      const float* kd = kt + d * bs;
#pragma omp simd
      for (int64_t j = 0; j < bs; ++j) s[j] += qd * kd[j];
    }
  }
}

// x[i] = exp(x[i] - shift) for x[i] <= shift; returns their sum.
PRLM_VECTOR_CLONES
float ExpShifted(float* x, int64_t n, float shift) {
  float sum = 0;
#pragma omp simd reduction(+ : sum)
  for (int64_t i = 0; i < n; ++i) {
    const float e = ExpApprox(x[i] - shift);
    x[i] = e;
    sum += e;
  }
  return sum;
}

// acc[g] += sum_j p[g * stride + j] * v[j] for `group` queries and `n`
// values, each query's accumulator held in registers over the block.
template <int DIM>
inline void BlockAccumulateOf(const float* p, const float* v, int64_t group, int64_t n, float* acc, int64_t stride) {
  for (int64_t g = 0; g < group; ++g) {
    float a[DIM];
    std::copy_n(acc + g * DIM, DIM, a);
    for (int64_t j = 0; j < n; ++j) {
      const float w = p[g * stride + j];
      const float* vj = v + j * DIM;
#pragma omp simd
      for (int d = 0; d < DIM; ++d) a[d] += w * vj[d];
    }
    std::copy_n(a, DIM, acc + g * DIM);
  }
}

PRLM_VECTOR_CLONES
void BlockAccumulate(const float* p, const float* v, int64_t group, int64_t n, int64_t dim, float* acc,
                     int64_t stride) {
  if (dim == 64) return BlockAccumulateOf<64>(p, v, group, n, acc, stride);
  if (dim == 128) return BlockAccumulateOf<128>(p, v, group, n, acc, stride);
  for (int64_t g = 0; g < group; ++g) {
    float* ag = acc + g * dim;
    for (int64_t j = 0; j < n; ++j) {
      const float w = p[g * stride + j];
      const float* vj = v + j * dim;
#pragma omp simd
      for (int64_t d = 0; d < dim; ++d) ag[d] += w * vj[d];
    }
  }
}

// A block's `n` rows of `dim` as floats: the storage itself for fp32, else
// converted into `buffer`.
template <typename T>
const float* AsFloat(const T* x, int64_t count, std::vector<float>& buffer) {
  if constexpr (std::is_same_v<T, float>) {
    return x;
  } else {
    buffer.resize(count);
    for (int64_t i = 0; i < count; ++i) buffer[i] = static_cast<float>(x[i]);
    return buffer.data();
  }
}

template <typename T>
void WriteKeysValues(const torch::Tensor& k, const torch::Tensor& v, KvBlockPool& pool, int64_t layer,
                     const AttentionBatch& batch) {
  const int64_t kv_heads = k.size(1), dim = k.size(2), bs = pool.block_size();
  T* K = pool.keys(layer).data_ptr<T>();
  T* V = pool.values(layer).data_ptr<T>();
  const T* kp = k.data_ptr<T>();
  const T* vp = v.data_ptr<T>();
  for (int64_t t = 0; t < batch.tokens(); ++t) {
    const auto& seq = batch.sequences[batch.sequence_of[t]];
    const int64_t pos = batch.positions[t];
    const int64_t block = seq.blocks[pos / bs], offset = pos % bs;
    for (int64_t h = 0; h < kv_heads; ++h) {
      const T* key = kp + (t * kv_heads + h) * dim;
      T* kt = K + (block * kv_heads + h) * dim * bs + offset;  // transposed: [dim][bs]
      for (int64_t d = 0; d < dim; ++d) kt[d * bs] = key[d];
      std::copy_n(vp + (t * kv_heads + h) * dim, dim, V + ((block * kv_heads + h) * bs + offset) * dim);
    }
  }
}

template <typename T>
void AttendOnCpu(const torch::Tensor& q, KvBlockPool& pool, int64_t layer, const AttentionBatch& batch,
                 torch::Tensor& out) {
  const int64_t heads = q.size(1), dim = q.size(2), kv_heads = pool.keys(layer).size(1);
  const int64_t group = heads / kv_heads, bs = pool.block_size();
  const float scale = static_cast<float>(1.0 / std::sqrt(static_cast<double>(dim)));
  const T* K = pool.keys(layer).data_ptr<T>();
  const T* V = pool.values(layer).data_ptr<T>();
  const T* qp = q.data_ptr<T>();
  T* op = out.data_ptr<T>();
  const auto body = [&](int64_t begin, int64_t end) {
    std::vector<float> qf(group * dim), acc(group * dim), scores, kbuf, vbuf;
    for (int64_t item = begin; item < end; ++item) {
      const int64_t t = item / kv_heads, h = item % kv_heads;
      const auto& seq = batch.sequences[batch.sequence_of[t]];
      const int64_t S = batch.positions[t] + 1;  // causal: keys 0..position
      for (int64_t i = 0; i < group * dim; ++i) qf[i] = static_cast<float>(qp[(t * heads + h * group) * dim + i]) * scale;
      const int64_t blocks = (S + bs - 1) / bs, stride = blocks * bs;
      scores.resize(group * stride);
      // 1. Scores a whole block at a time (positions past S are ignored).
      for (int64_t b = 0; b < blocks; ++b) {
        const T* kb = K + (static_cast<int64_t>(seq.blocks[b]) * kv_heads + h) * dim * bs;
        BlockScores(qf.data(), AsFloat(kb, dim * bs, kbuf), group, bs, dim, scores.data() + b * bs, stride);
      }
      // 2. Softmax per query head, in fp32.
      for (int64_t g = 0; g < group; ++g) {
        float* s = scores.data() + g * stride;
        const float inv = 1.0f / ExpShifted(s, S, *std::max_element(s, s + S));
#pragma omp simd
        for (int64_t j = 0; j < S; ++j) s[j] *= inv;
      }
      // 3. Weighted values.
      std::fill(acc.begin(), acc.end(), 0.0f);
      for (int64_t b = 0; b < blocks; ++b) {
        const int64_t n = std::min(bs, S - b * bs);
        const T* vb = V + (static_cast<int64_t>(seq.blocks[b]) * kv_heads + h) * bs * dim;
        BlockAccumulate(scores.data() + b * bs, AsFloat(vb, n * dim, vbuf), group, n, dim, acc.data(), stride);
      }
      for (int64_t i = 0; i < group * dim; ++i) op[(t * heads + h * group) * dim + i] = static_cast<T>(acc[i]);
    }
  };
  // Threads only when there is enough work to repay waking them (a prefill
  // chunk, long contexts): at 32 sequences of ~100 positions, split or not
  // measured the same (the step reads its keys and values at memory speed).
  const int64_t items = batch.tokens() * kv_heads;
  int64_t keys = 0;
  for (int32_t p : batch.positions) keys += p + 1;
  if (keys * kv_heads < kParallelKeys) {
    body(0, items);
  } else {
    at::parallel_for(0, items, 1, body);
  }
}

void CheckShapes(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v, KvBlockPool& pool,
                 int64_t layer, const AttentionBatch& batch) {
  const auto& K = pool.keys(layer);
  PRLM_CHECK(q.dim() == 3 && k.dim() == 3 && v.dim() == 3);
  PRLM_CHECK(q.size(0) == batch.tokens() && k.size(0) == batch.tokens() && v.size(0) == batch.tokens());
  PRLM_CHECK(k.size(1) == K.size(1) && k.size(2) == K.size(2) && q.size(2) == K.size(2));
  PRLM_CHECK(q.size(1) % k.size(1) == 0);
  PRLM_CHECK(q.scalar_type() == K.scalar_type() && k.scalar_type() == K.scalar_type());
}

}  // namespace

torch::Tensor PagedAttention(const torch::Tensor& q_in, const torch::Tensor& k_in, const torch::Tensor& v_in,
                             KvBlockPool& pool, int64_t layer, const AttentionBatch& batch) {
  CheckShapes(q_in, k_in, v_in, pool, layer, batch);
  if (!q_in.device().is_cpu()) return PagedAttentionGathered(q_in, k_in, v_in, pool, layer, batch);
  const auto q = q_in.contiguous(), k = k_in.contiguous(), v = v_in.contiguous();
  auto out = torch::empty({q.size(0), q.size(1), q.size(2)}, q.options());
  switch (q.scalar_type()) {
    case torch::kFloat:
      WriteKeysValues<float>(k, v, pool, layer, batch);
      AttendOnCpu<float>(q, pool, layer, batch, out);
      break;
    case torch::kBFloat16:
      WriteKeysValues<c10::BFloat16>(k, v, pool, layer, batch);
      AttendOnCpu<c10::BFloat16>(q, pool, layer, batch, out);
      break;
    default:
      PRLM_THROW("paged attention: dtype " << q.scalar_type() << " is not supported on CPU (fp32 or bf16)");
  }
  return out.view({q.size(0), q.size(1) * q.size(2)});
}

torch::Tensor PagedAttentionGathered(const torch::Tensor& q, const torch::Tensor& k, const torch::Tensor& v,
                                     KvBlockPool& pool, int64_t layer, const AttentionBatch& batch) {
  CheckShapes(q, k, v, pool, layer, batch);
  const auto device = q.device();
  const int64_t N = batch.tokens(), heads = q.size(1), dim = q.size(2), kv_heads = k.size(1);
  const int64_t group = heads / kv_heads, bs = pool.block_size();
  auto& K = pool.keys(layer);
  auto& V = pool.values(layer);
  // 1. Write: K[block, :, :, offset] = k[t] (keys transposed per block) and
  //    V[block, :, offset, :] = v[t] for every token t.
  std::vector<int64_t> block_of(N), offset_of(N);
  for (int64_t t = 0; t < N; ++t) {
    const int64_t pos = batch.positions[t];
    block_of[t] = batch.sequences[batch.sequence_of[t]].blocks[pos / bs];
    offset_of[t] = pos % bs;
  }
  const auto bi = torch::tensor(block_of, torch::kLong).to(device);
  const auto oi = torch::tensor(offset_of, torch::kLong).to(device);
  using torch::indexing::Slice;
  K.index_put_({bi, Slice(), Slice(), oi}, k);
  V.index_put_({bi, Slice(), oi}, v);
  // 2. Per sequence: gather its blocks, attend with a causal bias.
  auto out = torch::empty({N, heads * dim}, q.options());
  const double scale = 1.0 / std::sqrt(static_cast<double>(dim));
  for (const auto& seq : batch.sequences) {
    const int64_t T = seq.tokens, first = seq.first_token;
    const int64_t S = batch.positions[first + T - 1] + 1;
    const int64_t nb = pool.BlocksFor(S);
    const auto table = torch::tensor(std::vector<int64_t>(seq.blocks.begin(), seq.blocks.begin() + nb), torch::kLong)
                           .to(device);
    // keys [nb, kv, dim, bs] and values [nb, kv, bs, dim] -> [kv, S, dim]
    const auto keys = K.index_select(0, table).permute({1, 0, 3, 2}).reshape({kv_heads, nb * bs, dim}).narrow(1, 0, S);
    const auto vals = V.index_select(0, table).permute({1, 0, 2, 3}).reshape({kv_heads, nb * bs, dim}).narrow(1, 0, S);
    // [T, heads, dim] -> [kv, group * T, dim], query heads of one KV head together.
    const auto qs = q.narrow(0, first, T).view({T, kv_heads, group, dim}).permute({1, 2, 0, 3}).reshape(
        {kv_heads, group * T, dim});
    auto scores = torch::matmul(qs.to(torch::kFloat), keys.to(torch::kFloat).transpose(1, 2)) * scale;
    const auto qpos = torch::tensor(std::vector<int64_t>(batch.positions.begin() + first,
                                                         batch.positions.begin() + first + T),
                                    torch::kLong)
                          .to(device);
    const auto visible = torch::arange(S, qpos.options()).unsqueeze(0).le(qpos.unsqueeze(1));  // [T, S]
    scores = scores.view({kv_heads, group, T, S}).masked_fill(visible.logical_not(), -1e30);
    const auto probs = torch::softmax(scores, -1).view({kv_heads, group * T, S});
    const auto o = torch::matmul(probs, vals.to(torch::kFloat));  // [kv, group*T, dim]
    out.narrow(0, first, T).copy_(o.view({kv_heads, group, T, dim}).permute({2, 0, 1, 3}).reshape({T, heads * dim}));
  }
  return out;
}

}  // namespace prlm::generation
