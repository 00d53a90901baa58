#include "common/generation/engine.h"

#include <torch/cuda.h>

#include <algorithm>

#include "common/util/check.h"
#include "common/util/clock.h"

namespace prlm::generation {

// One sample of a request: its random stream and what it has produced.
struct Engine::Sample {
  uint64_t request = 0;
  size_t index = 0;
  uint64_t seed = 0;
  int max_new_tokens = 0;
  std::mt19937_64 rng;
  Completion out;
  std::string text_tail;  // the last bytes of its text, for stop strings across tokens
};

// What occupies KV blocks: a prompt being prefilled for its G samples, or one
// sample (its prompt and the tokens drawn so far). A sequence with several
// samples has drawn nothing yet; after its first draw it forks into one
// sequence per sample, all sharing its blocks.
struct Engine::Sequence {
  std::shared_ptr<const std::vector<int32_t>> prompt;
  std::vector<std::unique_ptr<Sample>> samples;
  std::vector<int32_t> blocks;
  int64_t computed = 0;  // positions whose keys/values are in the cache
  // Queue order: (request id, sample index or -1 for a whole group). Older
  // sequences are admitted first and preempted last.
  std::pair<uint64_t, int64_t> order;
  bool preempted = false;
  bool scheduled = false;  // in this step's plan (never preempted for another)

  const std::vector<int32_t>& drawn() const { return samples.front()->out.tokens; }
  int64_t length() const {
    return static_cast<int64_t>(prompt->size()) + (samples.size() == 1 ? static_cast<int64_t>(drawn().size()) : 0);
  }
  int32_t TokenAt(int64_t i) const {
    const int64_t p = static_cast<int64_t>(prompt->size());
    return i < p ? (*prompt)[i] : drawn()[i - p];
  }
};

namespace {

template <typename Seq>
void InsertInOrder(std::vector<std::unique_ptr<Seq>>& list, std::unique_ptr<Seq> seq) {
  auto at = std::lower_bound(list.begin(), list.end(), seq->order,
                             [](const std::unique_ptr<Seq>& s, const auto& order) { return s->order < order; });
  list.insert(at, std::move(seq));
}

}  // namespace

const char* FinishReasonName(FinishReason r) {
  switch (r) {
    case FinishReason::kStopToken:
      return "stop_token";
    case FinishReason::kStopString:
      return "stop_string";
    case FinishReason::kLength:
      return "length";
  }
  return "?";
}

void EngineStats::AddTo(GenerationStats* s) const {
  s->prefill_tokens += prefill_tokens;
  s->prefill_seconds += prefill_seconds;
  s->decode_tokens += decode_only_tokens;
  s->decode_seconds += decode_seconds;
}

Engine::Engine(model::CausalLM model, SamplingParams params, EngineOptions options, TokenText token_text)
    : model_(std::move(model)),
      params_(std::move(params)),
      options_(options),
      token_text_(std::move(token_text)),
      device_(model_->model->embed_tokens->weight.device()),
      pool_(model_->config().num_hidden_layers,
            std::max<int64_t>(1, (options.kv_cache_tokens + options.block_size - 1) / std::max<int64_t>(1, options.block_size)),
            std::max<int64_t>(1, options.block_size), model_->config().num_key_value_heads, model_->config().head_dim(),
            model_->model->embed_tokens->weight.options()),
      forward_(model_),
      version_(options.weight_version) {
  PRLM_REQUIRE(options.block_size >= 1, "generation engine: block_size must be >= 1, got " << options.block_size);
  PRLM_REQUIRE(options.kv_cache_tokens >= options.block_size,
               "generation engine: kv_cache_tokens (" << options.kv_cache_tokens << ") must hold at least one block of "
                                                      << options.block_size);
  PRLM_REQUIRE(options.max_sequences >= 1, "generation engine: max_sequences must be >= 1");
  PRLM_REQUIRE(options.step_tokens >= 1, "generation engine: step_tokens must be >= 1");
  PRLM_REQUIRE(params_.max_new_tokens >= 1, "generation engine: max_new_tokens must be >= 1");
  PRLM_REQUIRE(params_.stop_strings.empty() || token_text_,
               "generation engine: stop strings need the tokenizer's token text");
  for (const auto& s : params_.stop_strings) {
    PRLM_REQUIRE(!s.empty(), "generation engine: an empty stop string would stop every sample at once");
    longest_stop_string_ = std::max(longest_stop_string_, s.size());
  }
}

Engine::~Engine() = default;

uint64_t Engine::Submit(GenerationRequest request) {
  const auto& c = model_->config();
  const int64_t P = static_cast<int64_t>(request.prompt.size());
  const int max_new = request.max_new_tokens > 0 ? request.max_new_tokens : params_.max_new_tokens;
  PRLM_REQUIRE(P > 0, "generate: empty prompt");
  PRLM_REQUIRE(!request.sample_seeds.empty(), "generate: a request asks for zero samples");
  PRLM_REQUIRE(request.max_new_tokens >= 0, "generate: max_new_tokens " << request.max_new_tokens << " is negative");
  for (int32_t id : request.prompt)
    PRLM_REQUIRE(id >= 0 && id < c.vocab_size,
                 "generate: prompt token id " << id << " is outside the model's vocabulary [0, " << c.vocab_size << ")");
  PRLM_REQUIRE(P + max_new <= c.max_position_embeddings,
               "generate: prompt (" << P << ") + max_new_tokens (" << max_new << ") exceeds max_position_embeddings "
                                    << c.max_position_embeddings);
  PRLM_REQUIRE(pool_.BlocksFor(P + max_new) <= pool_.num_blocks(),
               "generate: a prompt of " << P << " tokens + " << max_new << " new tokens needs "
                                        << pool_.BlocksFor(P + max_new) * pool_.block_size()
                                        << " KV cache positions, more than the whole pool ("
                                        << pool_.num_blocks() * pool_.block_size()
                                        << "; raise rollout.kv_cache_tokens)");
  auto seq = std::make_unique<Sequence>();
  seq->prompt = std::make_shared<const std::vector<int32_t>>(std::move(request.prompt));
  std::lock_guard<std::mutex> lock(mu_);
  const uint64_t id = next_request_++;
  for (size_t g = 0; g < request.sample_seeds.size(); ++g) {
    auto s = std::make_unique<Sample>();
    s->request = id;
    s->index = g;
    s->seed = request.sample_seeds[g];
    s->rng.seed(s->seed);
    s->max_new_tokens = max_new;
    seq->samples.push_back(std::move(s));
  }
  seq->order = {id, seq->samples.size() == 1 ? 0 : -1};
  submitted_.push_back(std::move(seq));
  return id;
}

void Engine::UpdateWeights(int64_t version, std::vector<std::pair<std::string, torch::Tensor>> tensors) {
  const auto params = model_->named_parameters();
  for (const auto& [name, t] : tensors) {
    const auto* p = params.find(name);
    PRLM_REQUIRE(p != nullptr, "weight update " << version << ": the model has no parameter " << name);
    PRLM_REQUIRE(p->sizes() == t.sizes(), "weight update " << version << ": " << name << " has shape " << t.sizes()
                                                           << ", the model's is " << p->sizes());
  }
  std::lock_guard<std::mutex> lock(mu_);
  pending_weights_.emplace_back(version, std::move(tensors));
}

bool Engine::Idle() const {
  std::lock_guard<std::mutex> lock(mu_);
  return submitted_.empty() && waiting_.empty() && running_.empty();
}

int64_t Engine::running_samples() const {
  int64_t n = 0;
  for (const auto& s : running_) n += static_cast<int64_t>(s->samples.size());
  return n;
}

void Engine::ReleaseBlocks(Sequence& seq) {
  for (int32_t b : seq.blocks) pool_.Release(b);
  seq.blocks.clear();
  seq.computed = 0;
}

void Engine::Preempt(Sequence& seq) {
  ReleaseBlocks(seq);
  seq.preempted = true;
  ++stats_.preemptions;
}

void Engine::ApplyPendingWeights() {
  decltype(pending_weights_) pending;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending.swap(pending_weights_);
  }
  if (pending.empty()) return;
  {
    torch::NoGradGuard no_grad;
    auto params = model_->named_parameters();
    for (auto& [version, tensors] : pending) {
      for (auto& [name, t] : tensors) params[name].copy_(t);
      version_ = version;
    }
  }
  // Keys and values computed under the old weights are stale: every sequence
  // in flight goes back to the queue to be recomputed; on kAbortAndRequeue
  // every sample that has drawn tokens (running or preempted) restarts.
  for (auto& seq : running_) {
    ReleaseBlocks(*seq);
    InsertInOrder(waiting_, std::move(seq));
  }
  running_.clear();
  if (options_.on_weight_update == WeightSwapPolicy::kAbortAndRequeue) {
    for (auto& seq : waiting_) {
      for (auto& s : seq->samples) {
        s->out = Completion{};
        s->rng.seed(s->seed);
        s->text_tail.clear();
      }
    }
  }
}

void Engine::Admit() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    while (!submitted_.empty()) {
      InsertInOrder(waiting_, std::move(submitted_.front()));
      submitted_.pop_front();
    }
  }
  int64_t slots = options_.max_sequences - running_samples();
  size_t admitted = 0;
  for (; admitted < waiting_.size(); ++admitted) {
    Sequence& seq = *waiting_[admitted];
    const int64_t g = static_cast<int64_t>(seq.samples.size());
    // A spare block per sample for its first growth, unless nothing runs (a
    // lone sequence always fits: Submit checked it against the whole pool).
    const int64_t need = pool_.BlocksFor(seq.length()) + (running_.empty() && admitted == 0 ? 0 : g);
    if ((g > slots && !(running_.empty() && admitted == 0)) || need > pool_.free_blocks()) break;
    slots -= g;
  }
  for (size_t i = 0; i < admitted; ++i) {
    waiting_[i]->preempted = false;
    InsertInOrder(running_, std::move(waiting_[i]));
  }
  waiting_.erase(waiting_.begin(), waiting_.begin() + static_cast<std::ptrdiff_t>(admitted));
}

// Blocks for positions [seq.computed, end): new ones past the table, a
// private copy of a shared one. Frees blocks by preempting the youngest
// sequence not yet scheduled this step (possibly `seq` itself: then false).
bool Engine::EnsureBlocks(Sequence& seq, int64_t end) {
  const int64_t bs = pool_.block_size();
  for (int64_t b = seq.computed / bs; b * bs < end; ++b) {
    const bool missing = b >= static_cast<int64_t>(seq.blocks.size());
    if (!missing && pool_.RefCount(seq.blocks[b]) == 1) continue;
    while (pool_.free_blocks() == 0) {
      Sequence* victim = nullptr;
      for (auto it = running_.rbegin(); it != running_.rend() && !victim; ++it)
        if (!(*it)->preempted && !(*it)->scheduled && it->get() != &seq) victim = it->get();
      if (!victim || victim->order < seq.order) victim = &seq;
      Preempt(*victim);
      if (victim == &seq) return false;
    }
    if (missing) {
      seq.blocks.push_back(pool_.Allocate());
    } else {
      seq.blocks[b] = pool_.CopyOnWrite(seq.blocks[b]);
      ++stats_.copy_on_write_blocks;
    }
  }
  stats_.peak_blocks_used = std::max(stats_.peak_blocks_used, pool_.num_blocks() - pool_.free_blocks());
  return true;
}

bool Engine::StopsOnText(Sample& sample, int32_t token) const {
  if (params_.stop_strings.empty()) return false;
  const std::string bytes = token_text_(token);
  std::string text = sample.text_tail + bytes;
  bool stop = false;
  for (const auto& s : params_.stop_strings) {
    // Only a match that ends in the new bytes is new (the tail had none).
    const size_t at = text.find(s);
    if (at != std::string::npos && at + s.size() > sample.text_tail.size()) stop = true;
  }
  const size_t keep = longest_stop_string_ - 1;
  sample.text_tail = text.size() > keep ? text.substr(text.size() - keep) : text;
  return stop;
}

void Engine::Finish(Sample& sample, FinishReason reason, std::vector<FinishedSample>* out) {
  sample.out.finish = reason;
  sample.out.stopped = reason != FinishReason::kLength;
  out->push_back({sample.request, sample.index, std::move(sample.out)});
}

std::vector<FinishedSample> Engine::Step() {
  torch::NoGradGuard no_grad;
  std::vector<FinishedSample> finished;
  const auto t0 = util::Clock::now();
  // 1-2. Weights, then admission.
  ApplyPendingWeights();
  Admit();
  if (running_.empty()) return finished;

  // 3. Schedule: a token for each decoding sequence, then prompt chunks.
  struct Scheduled {
    Sequence* seq;
    int64_t count;
  };
  std::vector<Scheduled> plan;
  int64_t budget = options_.step_tokens;
  bool prefilling = false;  // any prompt or recomputed positions in this step
  for (int pass = 0; pass < 2; ++pass) {
    for (auto& owned : running_) {
      Sequence& seq = *owned;
      const int64_t remaining = seq.length() - seq.computed;
      if (seq.preempted || budget == 0 || remaining == 0 || (pass == 0) != (remaining == 1)) continue;
      const int64_t count = std::min(remaining, budget);
      if (!EnsureBlocks(seq, seq.computed + count)) continue;
      seq.scheduled = true;
      plan.push_back({&seq, count});
      budget -= count;
      prefilling |= count > 1 || seq.drawn().empty();
    }
  }
  // A preempted sequence keeps its tokens and waits to be recomputed.
  for (auto& owned : running_)
    if (owned->preempted) InsertInOrder(waiting_, std::move(owned));
  std::erase_if(running_, [](const std::unique_ptr<Sequence>& s) { return !s; });
  std::erase_if(plan, [](const Scheduled& p) { return p.seq->preempted; });
  if (plan.empty()) return finished;

  // 4. One forward pass over every scheduled token.
  AttentionBatch batch;
  std::vector<int64_t> ids;
  std::vector<int64_t> logit_rows;     // hidden row per drawing sample
  std::vector<Sample*> drawing;        // who draws from that row
  std::vector<Sequence*> drew;         // sequences whose context completed
  for (const auto& [seq, count] : plan) {
    seq->scheduled = false;
    batch.Add(seq->blocks, static_cast<int32_t>(seq->computed), count);
    for (int64_t i = 0; i < count; ++i) ids.push_back(seq->TokenAt(seq->computed + i));
    const bool recompute = count > 1 && !seq->drawn().empty();
    if (count > 1 || seq->drawn().empty()) (recompute ? stats_.recomputed_tokens : stats_.prefill_tokens) += count;
    seq->computed += count;
    if (seq->computed == seq->length()) {
      for (auto& s : seq->samples) {
        logit_rows.push_back(batch.tokens() - 1);
        drawing.push_back(s.get());
      }
      drew.push_back(seq);
    }
  }
  const auto hidden = forward_.Run(torch::tensor(ids, torch::kLong).to(device_), batch, pool_);
  ++stats_.steps;

  // 5. Draw, record, stop; fork a prompt's samples onto its blocks.
  if (!drawing.empty()) {
    const auto rows = torch::tensor(logit_rows, torch::kLong).to(device_);
    const auto logits = forward_.Logits(hidden.index_select(0, rows)).to(torch::kCPU, torch::kFloat);
    std::vector<std::mt19937_64*> rngs;
    for (auto* s : drawing) rngs.push_back(&s->rng);
    const auto drawn = DrawTokens(logits, params_, rngs);
    std::vector<bool> done(drawing.size(), false);
    for (size_t r = 0; r < drawing.size(); ++r) {
      Sample& s = *drawing[r];
      s.out.tokens.push_back(drawn[r].token);
      s.out.logprobs.push_back(drawn[r].logprob);
      s.out.versions.push_back(version_);
      ++stats_.decode_tokens;
      if (!prefilling) ++stats_.decode_only_tokens;
      const auto& stops = params_.stop_token_ids;
      const bool stop_token = std::find(stops.begin(), stops.end(), drawn[r].token) != stops.end();
      const bool stop_text = StopsOnText(s, drawn[r].token);
      if (stop_token || stop_text || static_cast<int>(s.out.tokens.size()) >= s.max_new_tokens) {
        Finish(s, stop_token ? FinishReason::kStopToken
                  : stop_text ? FinishReason::kStopString
                              : FinishReason::kLength,
               &finished);
        done[r] = true;
      }
    }
    // Finished samples leave their sequence; a group's live samples fork.
    size_t r = 0;
    std::vector<std::unique_ptr<Sequence>> forks;
    for (Sequence* seq : drew) {
      const bool group = seq->samples.size() > 1;
      std::vector<std::unique_ptr<Sample>> live;
      for (auto& s : seq->samples)
        if (!done[r++]) live.push_back(std::move(s));
      if (group) {
        for (auto& s : live) {
          auto fork = std::make_unique<Sequence>();
          fork->prompt = seq->prompt;
          fork->blocks = seq->blocks;
          for (int32_t b : fork->blocks) pool_.Retain(b);
          fork->computed = seq->computed;
          fork->order = {seq->order.first, static_cast<int64_t>(s->index)};
          fork->samples.push_back(std::move(s));
          forks.push_back(std::move(fork));
        }
        live.clear();
      }
      seq->samples = std::move(live);
      if (seq->samples.empty()) ReleaseBlocks(*seq);
    }
    std::erase_if(running_, [](const std::unique_ptr<Sequence>& s) { return s->samples.empty(); });
    for (auto& f : forks) InsertInOrder(running_, std::move(f));
  }
  if (device_.is_cuda()) torch::cuda::synchronize();
  (prefilling ? stats_.prefill_seconds : stats_.decode_seconds) += util::Seconds(t0);
  return finished;
}

void Engine::RunUntilIdle(const std::function<void(FinishedSample&&)>& done) {
  while (!Idle())
    for (auto& f : Step()) done(std::move(f));
}

}  // namespace prlm::generation
