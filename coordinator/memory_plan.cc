#include "coordinator/memory_plan.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <sstream>

#include "common/model/model_config.h"
#include "common/objective/objective.h"
#include "common/util/check.h"
#include "coordinator/checkpoints.h"

namespace prlm::coordinator {

namespace fs = std::filesystem;

namespace {

// Sizes of the decoder's parts, in parameters.
struct DecoderCounts {
  int64_t total = 0;
  int64_t packed = 0;  // what the CPU engine packs: every linear layer and the LM head
  int64_t lora = 0;    // adapters of rank 1 on every linear layer but the head (times r)
};

DecoderCounts CountDecoder(const model::DecoderConfig& c) {
  const int64_t h = c.hidden_size, hd = c.head_dim(), q = c.num_attention_heads * hd, kv = c.num_key_value_heads * hd,
                I = c.intermediate_size, V = c.vocab_size;
  int64_t attention = h * q + 2 * h * kv + q * h;
  if (c.attention_bias) attention += q + 2 * kv;
  if (c.o_proj_bias()) attention += h;
  int64_t mlp = 3 * h * I;
  if (c.mlp_bias) mlp += 2 * I + h;
  const int64_t norms = 2 * h + (c.qk_norm ? 2 * hd : 0);
  DecoderCounts n;
  n.total = c.num_hidden_layers * (attention + mlp + norms) + V * h + h + (c.tie_word_embeddings ? 0 : V * h);
  n.packed = c.num_hidden_layers * (attention + mlp) + V * h;
  // r x (in + out) per adapted layer: q, k, v, o, gate, up, down.
  n.lora = c.num_hidden_layers * ((h + q) + 2 * (h + kv) + (q + h) + 2 * (h + I) + (I + h));
  return n;
}

// `labels` > 0: with a classifier head of that many outputs (the reward model's 1).
int64_t CountBert(const model::BertConfig& c, int64_t labels) {
  const int64_t h = c.hidden_size, I = c.intermediate_size;
  const int64_t embeddings = (c.vocab_size + c.max_position_embeddings + c.type_vocab_size) * h + 2 * h;
  const int64_t layer = 4 * (h * h + h) + 2 * h * I + I + h + 4 * h;
  return embeddings + c.num_hidden_layers * layer + h * h + h + labels * (h + 1);
}

// Bytes of the regular files under `dir` (0 when it does not exist).
int64_t DirectoryBytes(const std::string& dir) {
  std::error_code ec;
  if (dir.empty() || !fs::is_directory(dir, ec)) return 0;
  int64_t total = 0;
  for (const auto& e : fs::recursive_directory_iterator(dir, ec))
    if (e.is_regular_file(ec)) total += static_cast<int64_t>(e.file_size(ec));
  return total;
}

std::string ConfigJsonOf(const std::string& dir, const std::string& key) {
  const std::string path = dir + "/config.json";
  PRLM_REQUIRE(fs::exists(path), key << " " << dir << ": no config.json there (a Hugging Face model directory?)");
  return path;
}

std::string Gib(int64_t bytes) {
  char buf[32];
  if (bytes >= (1LL << 30))
    std::snprintf(buf, sizeof buf, "%.2f GiB", bytes / double(1LL << 30));
  else
    std::snprintf(buf, sizeof buf, "%.0f MiB", bytes / double(1LL << 20));
  return buf;
}

std::string Count(int64_t n) {
  char buf[32];
  if (n >= 1000000000)
    std::snprintf(buf, sizeof buf, "%.2fB", n / 1e9);
  else if (n >= 1000000)
    std::snprintf(buf, sizeof buf, "%.1fM", n / 1e6);
  else
    std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(n));
  return buf;
}

// Autograd's saved tensors for one micro-batch of the policy (see the header):
// `rows` sequences, `distinct` prompts among them, P prompt and C completion
// tokens, `shared` whether each prompt runs once.
// (The slacks: memory_plan.h.)
int64_t LearnerActivationBytes(const model::DecoderConfig& c, int64_t rows, int64_t distinct, int64_t P, int64_t C,
                               bool shared, bool lora, int64_t element) {
  const int64_t h = c.hidden_size, hd = c.head_dim(), H = c.num_attention_heads, KV = c.num_key_value_heads,
                I = c.intermediate_size;
  // Per token and layer: residual, two norm outputs and a norm factor each;
  // q (projected, rotated half, rotated, regrouped), k (projected, rotated
  // half, rotated), v; the attention output; gate, silu(gate), up, product.
  int64_t per_token = 4 * h + 2 + 5 * H * hd + 4 * KV * hd + 4 * I;
  // LoRA: each adapted layer's input after dropout (q, k, v, gate and up
  // each draw their own mask; o and down take theirs) and the mask.
  if (lora) per_token += (4 * h + H * hd + h + I) * 5 / 4;
  const double layers = static_cast<double>(c.num_hidden_layers * element);
  const double logits = 3.0 * rows * C * c.vocab_size * 4;  // fp32: logits, scaled, log-softmax
  if (!shared)                                              // every row whole, attention over all of it
    return static_cast<int64_t>(kWholeRowsSlack * (layers * rows * ((P + C) * per_token + H * (P + C) * (P + C))) +
                                logits);
  // The prompt stage: each distinct prompt once; the completion stage: every
  // row's completion over its prompt's keys and values, repeated per row.
  const double prompts = layers * distinct * (P * per_token + H * P * P);
  const double completions = layers * rows * (C * per_token + H * C * (P + C) + 2 * KV * hd * P);
  return static_cast<int64_t>(kSharedPromptSlack * prompts + kSharedCompletionSlack * completions + logits);
}

struct Precision {
  bool gpu = false;
  int64_t infer_element = 4;  // rollout weights and KV
  int64_t act_element = 4;    // learner activations (bf16 autocast: 2)
  std::string name;
};

Precision PrecisionOf(const config::TrainConfig& config, const PlanTarget& t) {
  Precision p;
  p.gpu = t.gpus_per_node > 0;
  const std::string& d = config.model.dtype;
  const bool bf16 = d == "bf16" || (d == "auto" && p.gpu);
  if (bf16) p.infer_element = p.act_element = 2;
  p.name = std::string(bf16 ? "bf16 (fp32 master weights)" : "fp32") + (p.gpu ? " on GPU" : " on CPU");
  return p;
}

void Add(RolePlan* r, std::string name, int64_t bytes, std::string note, bool transient = false) {
  if (bytes > 0) r->parts.push_back({std::move(name), bytes, std::move(note), transient});
}

// Every lasting part that `counts` and the largest transient one.
template <class Counts>
int64_t PeakOf(const std::vector<MemoryPart>& parts, Counts counts) {
  int64_t lasting = 0, transient = 0;
  for (const auto& p : parts) {
    if (!counts(p)) continue;
    if (p.transient)
      transient = std::max(transient, p.bytes);
    else
      lasting += p.bytes;
  }
  return lasting + transient;
}

}  // namespace

int64_t RolePlan::device_bytes() const {
  if (!on_gpu) return 0;
  return PeakOf(parts, [](const MemoryPart& p) { return p.name != "runtime"; });
}

int64_t RolePlan::host_bytes() const {
  return PeakOf(parts, [this](const MemoryPart& p) { return !on_gpu || p.name == "runtime"; });
}

MemoryPlan PlanMemory(const config::TrainConfig& config_in, const PlanTarget& target) {
  config::TrainConfig config = config_in;
  PRLM_REQUIRE(!config.model.policy.empty(), "model.policy is empty: the plan needs the policy's config.json");
  config.model.policy = PolicyOfRun(config.model.policy);
  const int64_t world = config.layout.unset() ? std::max<int64_t>(target.ranks, 5) : config.layout.total();
  config.Validate(world);
  MemoryPlan plan;
  plan.layout = config.ResolveLayout(world);
  const config::Layout& L = plan.layout;
  PRLM_REQUIRE(target.nodes >= 1 && target.nodes <= L.total(),
               "--nodes " << target.nodes << ": the layout has " << L.total() << " ranks");
  const Precision prec = PrecisionOf(config, target);
  plan.precision = prec.name;
  const int64_t overhead = target.rank_overhead > 0 ? target.rank_overhead : kDefaultRankOverhead;
  const int64_t cuda = target.cuda_context > 0 ? target.cuda_context : kDefaultCudaContext;

  const auto policy = model::DecoderConfig::Load(ConfigJsonOf(config.model.policy, "model.policy"));
  const DecoderCounts counts = CountDecoder(policy);
  const bool lora = config.lora.enabled();
  plan.parameters = counts.total;
  plan.trainable = lora ? counts.lora * config.lora.rank : counts.total;
  plan.model = policy.model_type + ", " + Count(counts.total) + " parameters, " +
               std::to_string(policy.num_hidden_layers) + " layers";

  const config::GrpoConfig& g = config.grpo;
  const auto objective = objective::MakeObjective(config);
  const bool sft = g.objective == config::ObjectiveKind::kSft;
  const int64_t G = sft ? 1 : g.group_size, P = g.max_prompt_tokens, C = g.max_completion_tokens;
  plan.tokens_per_step = config.trainer.prompts_per_step * G * (P + C);
  const int64_t B = config.trainer.micro_batch_size, U = (B + G - 1) / G;
  plan.learner_tokens_whole = B * (P + C);
  plan.learner_tokens_shared = U * P + B * C;

  auto runtime = [&](RolePlan* r) {
    Add(r, "runtime", overhead, "libtorch, Open MPI, protobuf: a rank before any model");
    if (r->on_gpu) Add(r, "CUDA context", cuda, "CUDA context and NCCL buffers (assumed)");
  };
  int64_t next_rank = 0;
  auto role = [&](const std::string& name, int64_t ranks, bool gpu) {
    RolePlan r;
    r.role = name;
    r.first_rank = next_rank;
    r.ranks = ranks;
    r.on_gpu = gpu;
    next_rank += ranks;
    runtime(&r);
    return r;
  };

  // Coordinator: the data set, parsed.
  const int64_t data_bytes = DirectoryBytes(config.data.dir);
  RolePlan coordinator = role("coordinator", 1, false);
  Add(&coordinator, "data set", 2 * data_bytes, "data.dir's files, parsed (2x their size)");

  // Retrieval shards: their share of the index, and the query encoder.
  RolePlan retrieval = role("retrieval", L.retrieval, false);
  {
    const int64_t index = DirectoryBytes(config.retrieval.index);
    const int64_t shards = std::max<int64_t>(1, L.retrieval / config.retrieval.replicas);  // each replica holds one
    if (index > 0)
      Add(&retrieval, "index", index / shards, "retrieval.index's files / " + std::to_string(shards) + " shards");
    else
      Add(&retrieval, "index", 2 * data_bytes / shards, "built from data.dir in memory (2x its files, an estimate)");
    const bool dense = config.retrieval.retriever == config::RetrieverKind::kDense ||
                       config.retrieval.retriever == config::RetrieverKind::kDenseHnsw;
    if (dense && !config.retrieval.encoder.empty() && !fs::exists(config.retrieval.encoder)) {
      plan.missing.push_back("retrieval.encoder " + config.retrieval.encoder);
    } else if (dense && !config.retrieval.encoder.empty()) {
      const int64_t n =
          CountBert(model::BertConfig::Load(ConfigJsonOf(config.retrieval.encoder, "retrieval.encoder")), 0);
      Add(&retrieval, "encoder", 4 * n, "fp32, " + Count(n) + " parameters");
    }
  }

  // Reward servers: the personalization model and one scoring batch.
  RolePlan reward = role("reward", L.reward, false);
  const bool bt = config.reward.w_pers != 0 && config.reward.personalization == config::PersonalizationKind::kBt;
  if (bt && !config.reward.model.empty() && !fs::exists(config.reward.model)) {
    plan.missing.push_back("reward.model " + config.reward.model);
  } else if (bt && !config.reward.model.empty()) {
    const auto bert = model::BertConfig::Load(ConfigJsonOf(config.reward.model, "reward.model"));
    const int64_t n = CountBert(bert, 1);
    Add(&reward, "reward model", 4 * n, "fp32, " + Count(n) + " parameters");
    const int64_t rows = config.reward.max_batch_size * config.reward.max_length;
    Add(&reward, "scoring batch",
        4 * (rows * (6 * bert.hidden_size + 2 * bert.intermediate_size) +
             config.reward.max_batch_size * bert.num_attention_heads * config.reward.max_length *
                 config.reward.max_length),
        std::to_string(config.reward.max_batch_size) + " x " + std::to_string(config.reward.max_length) +
            " tokens, one layer's activations at a time");
  } else if (config.reward.w_pers != 0 && !config.reward.lore.empty()) {
    Add(&reward, "LoRe model", DirectoryBytes(config.reward.lore), "reward.lore's files");
  }

  // Rollout workers: weights, the packed copy, the KV pool, one engine step.
  const bool gpu = prec.gpu;
  RolePlan rollout = role("rollout", L.rollout, gpu);
  {
    const int64_t e = prec.infer_element;
    Add(&rollout, "weights", e * counts.total, (e == 2 ? "bf16, " : "fp32, ") + Count(counts.total) + " parameters");
    if (lora) Add(&rollout, "LoRA adapters", 4 * plan.trainable, "fp32, r " + std::to_string(config.lora.rank));
    if (!gpu && e == 4 && !lora && !sft)
      Add(&rollout, "packed weights", 4 * counts.packed, "the CPU engine's packed linear layers and LM head");
    else if (!gpu)  // measured with LoRA and with sft; where it comes from is not known yet (docs/plan.md)
      Add(&rollout, "allocator", e * counts.total, "a second weight-sized region the heap keeps (measured)");
    const int64_t item_prompts = config.rollout.item_prompts > 0 ? config.rollout.item_prompts
                                                                 : (config.trainer.prompts_per_step + L.rollout - 1) /
                                                                       std::max<int64_t>(1, L.rollout);
    const int64_t samples = sft ? 0 : item_prompts * G;  // sft generates nothing: no KV cache, no engine
    // The pool is allocated whole (grpo.kv_cache_tokens, or room for every
    // sample at the limits without sharing). A GPU holds all of it; on the
    // host only the pages written count: each prompt once for its G samples,
    // each sample's completion and the copy of its prompt's last block.
    const int64_t block = 16, per_sample = ((P + C + block - 1) / block + 1) * block;
    const int64_t pool = g.kv_cache_tokens > 0 ? g.kv_cache_tokens : samples * per_sample;
    const int64_t written =
        item_prompts * ((P + block - 1) / block) * block + samples * ((C + block - 1) / block + 1) * block;
    const int64_t kv_tokens = gpu ? pool : std::min(pool, written);
    const int64_t per_token = 2 * policy.num_hidden_layers * policy.num_key_value_heads * policy.head_dim() * e;
    Add(&rollout, "KV cache", kv_tokens * per_token,
        std::to_string(kv_tokens) + " positions" +
            (gpu ? " (the pool: " +
                       (g.kv_cache_tokens > 0 ? std::string("grpo.kv_cache_tokens")
                                              : std::to_string(samples) + " samples x " + std::to_string(per_sample)) +
                       ")"
                 : " written of the pool's " + std::to_string(pool) + ": " + std::to_string(item_prompts) +
                       " prompts shared by " + std::to_string(samples) + " samples"));
    const int64_t step_tokens = sft ? 0 : std::max<int64_t>(512, samples);
    Add(&rollout, "engine step",
        4 * (step_tokens * (3 * policy.hidden_size +
                            (policy.num_attention_heads + 2 * policy.num_key_value_heads) * policy.head_dim() +
                            3 * policy.intermediate_size) +
             samples * policy.vocab_size),
        std::to_string(step_tokens) + " tokens a step");
    if (config.rollout.elastic)
      Add(&rollout, "weight relay", 2 * e * plan.trainable, "two versions kept to serve the next worker");
  }

  // Learners: weights, reference, gradients, optimizer, activations.
  RolePlan learner = role("learner", L.learners, gpu);
  {
    Add(&learner, "weights", 4 * counts.total, "fp32, " + Count(counts.total) + " parameters");
    if (objective->learner_needs().reference_logprobs && !lora)
      Add(&learner, "reference", 4 * counts.total, "fp32, frozen (grpo.beta > 0)");
    Add(&learner, "gradients", 4 * plan.trainable, "fp32, " + Count(plan.trainable) + " trainable");
    Add(&learner, "optimizer", 8 * plan.trainable, "AdamW's two fp32 moments");
    const int64_t shared = LearnerActivationBytes(policy, B, U, P, C, true, lora, prec.act_element);
    const int64_t whole = LearnerActivationBytes(policy, B, U, P, C, false, lora, prec.act_element);
    // One prompt per row (sft) or B < 2 shares nothing: rows are scored whole.
    const bool shares = B >= 2 && U < B;
    Add(&learner, "activations", shares ? shared : whole,
        std::to_string(B) + " sequences x (" + std::to_string(P) + " + " + std::to_string(C) + ") tokens" +
            (shares ? ", shared prompts (" + Gib(whole) + " as whole rows)" : ""),
        /*transient=*/true);
    Add(&learner, "checkpoint", (lora ? 8 : 4) * counts.total,
        lora ? "at a save: the merged policy's file and a copy of the base weights" : "at a save: the policy's file",
        /*transient=*/true);
    if (config.rollout.elastic)
      Add(&learner, "published versions",
          std::max<int64_t>(2, g.max_staleness + 1) * prec.infer_element * plan.trainable,
          "learner 0's weight versions for the rollout tier");
  }
  plan.roles = {coordinator, retrieval, reward, rollout, learner};

  // Placement: blocks of ranks per node; model ranks take the node's GPUs in turn.
  const int64_t per_node = (L.total() + target.nodes - 1) / target.nodes;
  std::vector<PlacedMemory> hosts(target.nodes), gpus(target.nodes * std::max<int64_t>(0, target.gpus_per_node));
  std::vector<int64_t> model_slot(target.nodes, 0);
  for (int64_t n = 0; n < target.nodes; ++n) {
    hosts[n].where = "node " + std::to_string(n);
    hosts[n].capacity = target.host_bytes;
    for (int64_t k = 0; k < target.gpus_per_node; ++k) {
      gpus[n * target.gpus_per_node + k].where = "node " + std::to_string(n) + " GPU " + std::to_string(k);
      gpus[n * target.gpus_per_node + k].capacity = target.gpu_bytes;
    }
  }
  for (const RolePlan& r : plan.roles) {
    for (int64_t i = 0; i < r.ranks; ++i) {
      const int64_t rank = r.first_rank + i, node = rank / per_node;
      const std::string name =
          r.role + (r.role == "coordinator" ? "" : " " + std::to_string(i)) + " (rank " + std::to_string(rank) + ")";
      hosts[node].bytes += r.host_bytes();
      hosts[node].ranks.push_back(name);
      if (r.on_gpu) {
        PlacedMemory& d = gpus[node * target.gpus_per_node + model_slot[node]++ % target.gpus_per_node];
        d.bytes += r.device_bytes();
        d.ranks.push_back(name);
      }
    }
  }
  for (auto& d : gpus) plan.placed.push_back(d);
  for (auto& h : hosts) plan.placed.push_back(h);

  // The refusal: each place that does not fit, with the parts of its largest rank.
  std::ostringstream why;
  for (const PlacedMemory& p : plan.placed) {
    if (p.fits()) continue;
    why << p.where << " needs " << Gib(p.bytes) << " of its " << Gib(p.capacity) << " for";
    for (const auto& n : p.ranks) why << " " << n << (&n == &p.ranks.back() ? ";" : ",");
    const bool device = p.where.find("GPU") != std::string::npos;
    const RolePlan* largest = nullptr;
    for (const RolePlan& r : plan.roles) {
      const bool here =
          std::any_of(p.ranks.begin(), p.ranks.end(), [&](const std::string& n) { return n.rfind(r.role, 0) == 0; });
      if (!here) continue;
      const int64_t b = device ? r.device_bytes() : r.host_bytes();
      if (!largest || b > (device ? largest->device_bytes() : largest->host_bytes())) largest = &r;
    }
    if (largest) {
      why << " each " << largest->role << " rank holds";
      for (const auto& part : largest->parts)
        if (!device || part.name != "runtime") why << " " << part.name << " " << Gib(part.bytes) << ",";
      why.seekp(-1, std::ios_base::cur);
      why << "\n";
    }
  }
  plan.refusal = why.str();
  return plan;
}

std::string FormatPlan(const MemoryPlan& plan, bool brief) {
  std::ostringstream o;
  for (const auto& m : plan.missing) o << "not there yet, left out: " << m << "\n";
  if (brief) {
    for (const PlacedMemory& p : plan.placed) {
      o << "plan: " << p.where << " " << Gib(p.bytes);
      if (p.capacity > 0) o << " of " << Gib(p.capacity) << (p.fits() ? "" : " DOES NOT FIT");
      o << " (" << p.ranks.size() << " ranks)\n";
    }
    return o.str();
  }
  const config::Layout& L = plan.layout;
  o << "model      " << plan.model << "; " << plan.precision << "\n"
    << "trainable  " << Count(plan.trainable) << " parameters\n"
    << "layout     " << L.ToString() << "\n"
    << "tokens     " << plan.tokens_per_step << " a step at the limits; a learner micro-batch "
    << plan.learner_tokens_shared << " with shared prompts, " << plan.learner_tokens_whole << " as whole rows\n\n";
  for (const RolePlan& r : plan.roles) {
    if (r.ranks == 0) continue;
    o << r.role << " (rank" << (r.ranks > 1 ? "s " : " ") << r.first_rank;
    if (r.ranks > 1) o << "-" << r.first_rank + r.ranks - 1;
    o << (r.on_gpu ? ", on a GPU" : "") << "), each:\n";
    for (const auto& p : r.parts) {
      char line[128];
      std::snprintf(line, sizeof line, "  %-20s %10s  ", p.name.c_str(), Gib(p.bytes).c_str());
      o << line << p.note << (p.transient ? " [one phase: the larger counts]" : "") << "\n";
    }
    char line[128];
    std::snprintf(line, sizeof line, "  %-20s %10s%s\n", "peak",
                  Gib(r.on_gpu ? r.device_bytes() : r.host_bytes()).c_str(),
                  r.on_gpu ? (" on the GPU, " + Gib(r.host_bytes()) + " on the host").c_str() : "");
    o << line;
  }
  o << "\nplacement\n";
  for (const PlacedMemory& p : plan.placed) {
    o << "  " << p.where << ": " << Gib(p.bytes);
    if (p.capacity > 0) o << " of " << Gib(p.capacity) << (p.fits() ? "" : "  DOES NOT FIT");
    o << " (";
    for (const auto& n : p.ranks) o << n << (&n == &p.ranks.back() ? "" : ", ");
    o << ")\n";
  }
  return o.str();
}

std::string PlanJson(const MemoryPlan& plan) {
  nlohmann::json j;
  j["model"] = plan.model;
  j["precision"] = plan.precision;
  j["layout"] = plan.layout.ToString();
  j["parameters"] = plan.parameters;
  j["trainable"] = plan.trainable;
  j["tokens_per_step"] = plan.tokens_per_step;
  j["learner_tokens"] = {{"shared", plan.learner_tokens_shared}, {"whole", plan.learner_tokens_whole}};
  for (const RolePlan& r : plan.roles) {
    nlohmann::json role{{"role", r.role},     {"first_rank", r.first_rank},   {"ranks", r.ranks},
                        {"on_gpu", r.on_gpu}, {"host_bytes", r.host_bytes()}, {"device_bytes", r.device_bytes()}};
    for (const auto& p : r.parts) role["parts"][p.name] = p.bytes;
    j["roles"].push_back(role);
  }
  for (const PlacedMemory& p : plan.placed)
    j["placed"].push_back({{"where", p.where}, {"bytes", p.bytes}, {"capacity", p.capacity}, {"ranks", p.ranks}});
  j["missing"] = plan.missing;
  j["fits"] = plan.refusal.empty();
  j["refusal"] = plan.refusal;
  return j.dump();
}

int64_t ParseByteSize(const std::string& text) {
  size_t used = 0;
  double value = 0;
  try {
    value = std::stod(text, &used);
  } catch (const std::exception&) {
    PRLM_THROW("'" << text << "' is not a size (e.g. 80GiB, 512MiB, 24GB)");
  }
  std::string unit = text.substr(used);
  for (auto& ch : unit) ch = static_cast<char>(std::tolower(static_cast<unsigned char>(ch)));
  const std::pair<const char*, double> units[] = {{"", 1},          {"b", 1},
                                                  {"kib", 1024.0},  {"mib", 1 << 20},
                                                  {"gib", 1 << 30}, {"tib", 1099511627776.0},
                                                  {"kb", 1e3},      {"mb", 1e6},
                                                  {"gb", 1e9},      {"tb", 1e12},
                                                  {"k", 1024.0},    {"m", 1 << 20},
                                                  {"g", 1 << 30},   {"t", 1099511627776.0}};
  for (const auto& [name, scale] : units)
    if (unit == name) {
      PRLM_REQUIRE(value > 0, "'" << text << "': a size must be positive");
      return static_cast<int64_t>(std::llround(value * scale));
    }
  PRLM_THROW("'" << text << "': unknown unit '" << text.substr(used) << "' (B, KiB, MiB, GiB, TiB, KB, MB, GB, TB)");
}

}  // namespace prlm::coordinator
