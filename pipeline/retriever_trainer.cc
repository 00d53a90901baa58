#include "pipeline/retriever_trainer.h"

#include <nlohmann/json.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <numeric>

#include "pipeline/rank_share.h"
#include "pipeline/ropg_loss.h"
#include "common/model/pretrained.h"
#include "common/retrieval/index_refresh.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "common/util/rng.h"
#include "learner/lr_schedule.h"
#include "retrieval_shards/dense_embedding.h"

namespace prlm::pipeline {
namespace fs = std::filesystem;
namespace {

constexpr auto kCollectiveTimeout = std::chrono::minutes(30);

bool IsHeldOut(const std::string& user, double fraction, uint64_t seed) {
  if (fraction <= 0) return false;
  uint64_t h = util::SplitMix64::Mix(seed ^ 0x5eedull);
  for (unsigned char c : user) h = util::SplitMix64::Mix(h ^ c);
  return (h >> 11) * 0x1.0p-53 < fraction;
}

void SaveEncoderDir(model::BertEncoder& encoder, const std::string& encoder_dir, const std::string& dir) {
  model::SaveBert(encoder, dir);
  fs::copy_file(encoder_dir + "/tokenizer.json", dir + "/tokenizer.json", fs::copy_options::overwrite_existing);
}

// The dense retriever: cos(q, d_j), every question's query and candidates in
// one encoder batch.
class BiEncoderScorer : public ListwiseScorer {
 public:
  BiEncoderScorer(model::BertEncoder& encoder, std::string encoder_dir, const text::Tokenizer& tokenizer,
                  size_t max_length)
      : encoder_(encoder), encoder_dir_(std::move(encoder_dir)), tokenizer_(tokenizer), max_length_(max_length) {
    encoder_->eval();  // no dropout: a step depends only on weights and batch
  }

  EncodedQuestion Encode(const FeedbackRecord& r) const override {
    EncodedQuestion q;
    q.query = retrieval_shards::EmbeddingIds(tokenizer_, r.query, max_length_);
    for (const auto& c : r.candidates)
      q.candidates.push_back(retrieval_shards::EmbeddingIds(tokenizer_, c.text, max_length_));
    return q;
  }

  std::vector<torch::Tensor> Scores(const std::vector<const EncodedQuestion*>& qs) override {
    std::vector<const std::vector<int32_t>*> ids;
    for (const auto* q : qs) {
      ids.push_back(&q->query);
      for (const auto& c : q->candidates) ids.push_back(&c);
    }
    const torch::Tensor emb = retrieval_shards::EmbedIds(encoder_, ids, model::Pooling::kMean);
    std::vector<torch::Tensor> out;
    int64_t at = 0;
    for (const auto* q : qs) {
      const int64_t n = static_cast<int64_t>(q->candidates.size());
      out.push_back(torch::mv(emb.slice(0, at + 1, at + 1 + n), emb[at]));
      at += 1 + n;
    }
    return out;
  }

  std::vector<torch::Tensor> Parameters() override { return encoder_->parameters(); }
  std::string SourceDir() const override { return encoder_dir_; }
  void Save(const std::string& dir) override { SaveEncoderDir(encoder_, encoder_dir_, dir); }

 private:
  model::BertEncoder& encoder_;
  std::string encoder_dir_;
  const text::Tokenizer& tokenizer_;
  size_t max_length_;
};

torch::Tensor Row(const std::vector<double>& v) {
  return torch::tensor(v, torch::kDouble).to(torch::kFloat).unsqueeze(0);
}

std::vector<int> Ranking(const std::vector<double>& scores) {
  std::vector<int> order(scores.size());
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](int a, int b) { return scores[a] > scores[b]; });
  return order;
}

RetrieverEval Evaluate(ListwiseScorer& scorer, const std::vector<EncodedQuestion>& held_out,
                       const RetrieverTrainOptions& o) {
  torch::NoGradGuard no_grad;
  RetrieverEval r;
  size_t with_gain = 0;
  std::vector<double> by_position;  // utility sums of each candidate position
  constexpr size_t kChunk = 4;
  for (size_t b = 0; b < held_out.size(); b += kChunk) {
    std::vector<const EncodedQuestion*> chunk;
    for (size_t i = b; i < std::min(held_out.size(), b + kChunk); ++i) chunk.push_back(&held_out[i]);
    const auto scores = scorer.Scores(chunk);
    for (size_t i = 0; i < chunk.size(); ++i) {
      const auto& u = chunk[i]->utilities;
      const auto s = scores[i].to(torch::kDouble).contiguous();
      std::vector<double> sv(s.data_ptr<double>(), s.data_ptr<double>() + s.numel());
      std::vector<int> given(u.size());
      std::iota(given.begin(), given.end(), 0);
      const auto mine = Ranking(sv);
      r.top1_utility += u[mine[0]];
      r.first_stage_top1_utility += u[0];
      r.oracle_top1_utility += *std::max_element(u.begin(), u.end());
      if (by_position.size() < u.size()) by_position.resize(u.size(), 0.0);
      for (size_t j = 0; j < u.size(); ++j) by_position[j] += u[j];
      r.kl += pipeline::RopgKdLoss(scores[i].unsqueeze(0), Row(u), o.temperature).item<double>();
      if (*std::max_element(u.begin(), u.end()) > 0) {
        ++with_gain;
        r.ndcg += Ndcg(mine, u, o.ndcg_k);
        r.first_stage_ndcg += Ndcg(given, u, o.ndcg_k);
      }
    }
  }
  r.questions = held_out.size();
  const double n = std::max<double>(1, static_cast<double>(held_out.size()));
  r.best_fixed_top1_utility = by_position.empty() ? 0 : *std::max_element(by_position.begin(), by_position.end());
  r.top1_utility /= n, r.first_stage_top1_utility /= n, r.oracle_top1_utility /= n, r.best_fixed_top1_utility /= n;
  r.kl /= n;
  r.ndcg /= std::max<double>(1, static_cast<double>(with_gain));
  r.first_stage_ndcg /= std::max<double>(1, static_cast<double>(with_gain));
  return r;
}

nlohmann::ordered_json EvalJson(const RetrieverEval& e) {
  return {{"questions", e.questions},
          {"ndcg", e.ndcg},
          {"top1_utility", e.top1_utility},
          {"first_stage_ndcg", e.first_stage_ndcg},
          {"first_stage_top1_utility", e.first_stage_top1_utility},
          {"oracle_top1_utility", e.oracle_top1_utility},
          {"best_fixed_top1_utility", e.best_fixed_top1_utility},
          {"kl", e.kl}};
}

std::string Fixed(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4f", v);
  return buf;
}

std::string Describe(const RetrieverEval& e, int k) {
  return "held-out " + std::to_string(e.questions) + " questions: ndcg@" + std::to_string(k) + " " + Fixed(e.ndcg) +
         " (first stage " + Fixed(e.first_stage_ndcg) + "), top-1 utility " + Fixed(e.top1_utility) + " (first stage " +
         Fixed(e.first_stage_top1_utility) + ", best fixed " + Fixed(e.best_fixed_top1_utility) + ", oracle " +
         Fixed(e.oracle_top1_utility) + "), kl " + Fixed(e.kl);
}

}  // namespace

double Ndcg(const std::vector<int>& order, const std::vector<double>& gains, int k) {
  std::vector<double> ideal = gains;
  std::sort(ideal.begin(), ideal.end(), std::greater<>());
  double dcg = 0, idcg = 0;
  for (int i = 0; i < k && i < static_cast<int>(order.size()); ++i) dcg += gains[order[i]] / std::log2(i + 2.0);
  for (int i = 0; i < k && i < static_cast<int>(ideal.size()); ++i) idcg += ideal[i] / std::log2(i + 2.0);
  return idcg > 0 ? dcg / idcg : 0;
}

std::string NewestRetrieverCheckpoint(const std::string& out_dir) {
  const fs::path root = fs::path(out_dir) / "checkpoints";
  if (!fs::is_directory(root)) return "";
  std::string best;
  for (const auto& e : fs::directory_iterator(root)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("step-", 0) != 0 || name.find('.') != std::string::npos) continue;
    if (!fs::exists(e.path() / "state.json")) continue;  // incomplete
    if (name > fs::path(best).filename().string()) best = e.path().string();
  }
  return best;
}

RetrieverTrainReport TrainRetriever(model::BertEncoder& encoder, const std::string& encoder_dir,
                                    const text::Tokenizer& tokenizer, const std::vector<FeedbackRecord>& feedback,
                                    const RetrieverTrainOptions& o, comm::TensorCollectives* group,
                                    const std::function<void(const std::string&)>& log) {
  PRLM_REQUIRE(o.max_length >= 2, o.command << ": max length must be at least 2");
  // Texts are cut to what the encoder's positions allow.
  const size_t max_length =
      static_cast<size_t>(std::min<int64_t>(o.max_length, encoder->config().max_position_embeddings));
  BiEncoderScorer scorer(encoder, encoder_dir, tokenizer, max_length);
  return TrainListwise(scorer, feedback, o, group, log);
}

namespace {

void CheckListwiseOptions(const RetrieverTrainOptions& o) {
  const std::string& cmd = o.command;
  PRLM_REQUIRE(o.mode == "kd" || o.mode == "rl", cmd << ": --mode must be kd or rl, not '" << o.mode << "'");
  PRLM_REQUIRE(o.temperature > 0, cmd << ": --temperature must be positive");
  PRLM_REQUIRE(o.lr > 0 && o.batch_size >= 1 && o.epochs >= 1 && o.max_length >= 2 && o.ndcg_k >= 1,
               cmd << ": lr, batch size, epochs, ndcg k must be positive and max length at least 2");
  PRLM_REQUIRE(o.heldout_fraction >= 0 && o.heldout_fraction < 1, cmd << ": the held-out fraction must be in [0, 1)");
  PRLM_REQUIRE(!o.out_dir.empty(), cmd << ": no output directory");
}

std::string StepName(int64_t step) {
  char name[32];
  std::snprintf(name, sizeof name, "step-%08lld", static_cast<long long>(step));
  return name;
}

// Resumes from out_dir's newest checkpoint (the optimizer state and step; the
// scorer was loaded from it; member 0 drops the metrics of later steps, which
// are redone), or starts afresh. Returns the first step to run.
int64_t ResumeOrStart(ListwiseScorer& scorer, torch::optim::AdamW& optimizer, const RetrieverTrainOptions& o, int rank,
                      const std::function<void(const std::string&)>& say) {
  const std::string metrics = o.out_dir + "/metrics.jsonl";
  const std::string ckpt = o.resume ? NewestRetrieverCheckpoint(o.out_dir) : "";
  if (ckpt.empty()) {
    fs::create_directories(o.out_dir);
    if (rank == 0) util::WriteFileAtomic(metrics, "");
    return 0;
  }
  PRLM_REQUIRE(fs::equivalent(ckpt, scorer.SourceDir()),
               o.command << ": resuming needs the model loaded from " << ckpt);
  torch::load(optimizer, ckpt + "/optimizer.pt");
  const int64_t step = nlohmann::json::parse(util::ReadFile(ckpt + "/state.json")).at("step").get<int64_t>();
  say("resuming from " + ckpt + " (step " + std::to_string(step) + ")");
  if (rank == 0) {
    std::istringstream lines(fs::exists(metrics) ? util::ReadFile(metrics) : "");
    std::string kept;
    for (std::string line; std::getline(lines, line);)
      if (!line.empty() && nlohmann::json::parse(line).value("step", int64_t{0}) <= step) kept += line + "\n";
    util::WriteFileAtomic(metrics, kept);
  }
  return step;
}

// One question's loss: kd, KL(softmax(u/T) || softmax(s/T)); rl, -log p(d)
// (u(d) - u(d_1)) with d ~ softmax(s/T) drawn from (seed, step, position).
torch::Tensor QuestionLoss(const torch::Tensor& s, const torch::Tensor& u, const RetrieverTrainOptions& o, int64_t step,
                           size_t position) {
  if (o.mode == "kd") return RopgKdLoss(s, u, o.temperature);
  const auto p = torch::softmax(s.detach().to(torch::kDouble) / o.temperature, 1).contiguous();
  util::SplitMix64 rng(
      util::SplitMix64::Mix(o.seed ^ util::SplitMix64::Mix(static_cast<uint64_t>(step) * 1000003u + position)));
  const double x = rng.Uniform();
  const double* pj = p.data_ptr<double>();
  double acc = 0;
  int64_t d = p.size(1) - 1;
  for (int64_t j = 0; j < p.size(1); ++j)
    if ((acc += pj[j]) > x) {
      d = j;
      break;
    }
  return RopgRlLoss(s / o.temperature, u, torch::tensor({d}, torch::kLong));
}

// This member's share of a global batch (positions `positions` of the
// epoch's order): the loss's gradient / batch size into the parameters.
// Returns (loss sum, kl sum, questions), which travel with the gradients.
torch::Tensor BackwardShare(ListwiseScorer& scorer, const std::vector<const EncodedQuestion*>& mine,
                            const std::vector<size_t>& positions, const RetrieverTrainOptions& o, int64_t step) {
  if (mine.empty()) return torch::zeros({3}, torch::kFloat);
  const auto scores = scorer.Scores(mine);
  torch::Tensor loss = torch::zeros({}, torch::kFloat);
  double kl = 0;
  for (size_t i = 0; i < mine.size(); ++i) {
    const auto s = scores[i].unsqueeze(0);
    const auto u = Row(mine[i]->utilities);
    loss = loss + QuestionLoss(s, u, o, step, positions[i]);
    kl += RopgKdLoss(s.detach(), u, o.temperature).item<double>();
  }
  (loss / static_cast<double>(o.batch_size)).backward();
  return torch::tensor(
      {static_cast<float>(loss.item<double>()), static_cast<float>(kl), static_cast<float>(mine.size())});
}

// The retrieval tier serves the weights of `step`: saved under
// out_dir/serving (older ones removed: shards hold what they loaded in memory).
std::string RefreshServing(ListwiseScorer& scorer, const RetrieverTrainOptions& o, int64_t step) {
  const fs::path serving = fs::path(o.out_dir) / "serving";
  const std::string name = StepName(step);
  scorer.Save((serving / name).string());
  const std::string outcome = o.refresh((serving / name).string(), step);
  for (const auto& e : fs::directory_iterator(serving))
    if (e.path().filename() != name) fs::remove_all(e.path());
  return outcome;
}

// out_dir/checkpoints/step-N: the weights, optimizer state and step, written
// whole (a temporary directory renamed) so a crash leaves the previous one.
void SaveCheckpoint(ListwiseScorer& scorer, torch::optim::AdamW& optimizer, const RetrieverTrainOptions& o,
                    int64_t step) {
  const std::string dir = o.out_dir + "/checkpoints/" + StepName(step), tmp = dir + ".tmp";
  fs::remove_all(tmp);
  scorer.Save(tmp);
  torch::save(optimizer, tmp + "/optimizer.pt");
  util::WriteFileAtomic(tmp + "/state.json", nlohmann::json({{"step", step}}).dump());
  fs::remove_all(dir);
  fs::rename(tmp, dir);
}

}  // namespace

RetrieverTrainReport TrainListwise(ListwiseScorer& scorer, const std::vector<FeedbackRecord>& feedback,
                                   const RetrieverTrainOptions& o, comm::TensorCollectives* group,
                                   const std::function<void(const std::string&)>& log) {
  CheckListwiseOptions(o);
  const auto start = std::chrono::steady_clock::now();
  const int rank = group ? group->rank() : 0, size = group ? group->size() : 1;
  const auto say = [&](const std::string& line) {
    if (log && rank == 0) log(line);
  };
  RetrieverTrainReport report;

  // 1. Tokenize every text once; hold out the questions of some users.
  std::vector<EncodedQuestion> train, held_out;
  for (const auto& r : feedback) {
    EncodedQuestion q = scorer.Encode(r);
    for (const auto& c : r.candidates) q.utilities.push_back(c.utility);
    PRLM_CHECK(q.candidates.size() == q.utilities.size());
    (IsHeldOut(r.user_id, o.heldout_fraction, o.seed) ? held_out : train).push_back(std::move(q));
  }
  PRLM_REQUIRE(!train.empty(), o.command << ": no training questions left after holding out " << held_out.size()
                                         << " (lower --heldout-fraction)");
  report.train_questions = train.size();
  report.heldout_questions = held_out.size();

  // 2. AdamW on every parameter, warm-up then linear decay; resume state.
  auto params = scorer.Parameters();
  torch::optim::AdamW optimizer(
      params, torch::optim::AdamWOptions(o.lr).betas({0.9, 0.999}).eps(1e-8).weight_decay(o.weight_decay));
  const int64_t steps_per_epoch = (static_cast<int64_t>(train.size()) + o.batch_size - 1) / o.batch_size;
  learner::LrSchedule schedule{config::LrScheduleKind::kLinear, steps_per_epoch * o.epochs, o.warmup_ratio, 0.0};
  schedule.Validate();
  int64_t step = ResumeOrStart(scorer, optimizer, o, rank, say);
  if (rank == 0 && !held_out.empty()) {
    report.before = Evaluate(scorer, held_out, o);
    say("before training: " + Describe(report.before, o.ndcg_k));
  }

  std::vector<size_t> order(train.size());
  int64_t order_epoch = -1;  // the epoch `order` was shuffled for
  for (; step < schedule.total_steps; ++step) {
    // 3. This member's share of the global batch (every size-th question).
    const int64_t epoch = step / steps_per_epoch, in_epoch = step % steps_per_epoch;
    if (epoch != order_epoch) {
      std::iota(order.begin(), order.end(), 0);
      util::Shuffle(order, o.seed + 1 + static_cast<uint64_t>(epoch));
      order_epoch = epoch;
    }
    const size_t first = static_cast<size_t>(in_epoch * o.batch_size);
    const size_t last = std::min(train.size(), first + static_cast<size_t>(o.batch_size));
    std::vector<const EncodedQuestion*> mine;
    std::vector<size_t> positions;
    for (size_t j = first + static_cast<size_t>(rank); j < last; j += static_cast<size_t>(size)) {
      mine.push_back(&train[order[j]]);
      positions.push_back(j);
    }
    // 4. Gradients of every share summed, clipped, one AdamW step.
    const double lr = o.lr * schedule.Factor(step);
    for (auto& g : optimizer.param_groups()) static_cast<torch::optim::AdamWOptions&>(g.options()).lr(lr);
    optimizer.zero_grad();
    const torch::Tensor sums = BackwardShare(scorer, mine, positions, o, step);
    std::vector<torch::Tensor> grads;
    for (auto& p : params) {
      if (!p.grad().defined()) p.mutable_grad() = torch::zeros_like(p);
      grads.push_back(p.grad());
    }
    grads.push_back(sums);
    if (group) group->AllReduceSum(grads, kCollectiveTimeout);
    const double max_norm = o.max_grad_norm > 0 ? o.max_grad_norm : std::numeric_limits<double>::infinity();
    const double grad_norm = torch::nn::utils::clip_grad_norm_(params, max_norm);
    optimizer.step();
    const double n = std::max(1.0f, sums[2].item<float>());
    const double step_loss = sums[0].item<float>() / n, step_kl = sums[1].item<float>() / n;
    PRLM_REQUIRE(std::isfinite(step_loss),
                 o.command << ": the loss became " << step_loss << " at step " << step + 1 << " (lower --lr?)");
    // 5. Metrics, held-out figures, the serving refresh, checkpoints (member 0).
    if (rank != 0) continue;
    nlohmann::ordered_json m = {{"step", step + 1}, {"epoch", epoch + 1},     {"loss", step_loss},
                                {"kl", step_kl},    {"grad_norm", grad_norm}, {"lr", lr}};
    const bool last_step = step + 1 == schedule.total_steps;
    if (!held_out.empty() && ((o.eval_every > 0 && (step + 1) % o.eval_every == 0) || last_step)) {
      const RetrieverEval e = Evaluate(scorer, held_out, o);
      m["heldout"] = EvalJson(e);
      say("step " + std::to_string(step + 1) + "/" + std::to_string(schedule.total_steps) + " loss " +
          Fixed(step_loss) + " | " + Describe(e, o.ndcg_k));
      if (last_step) report.after = e;
    }
    if (o.refresh && o.refresh_every > 0 && ((step + 1) % o.refresh_every == 0 || last_step)) {
      m["refresh"] = RefreshServing(scorer, o, step + 1);
      say("step " + std::to_string(step + 1) + ": refresh " + m["refresh"].get<std::string>());
    }
    std::ofstream(o.out_dir + "/metrics.jsonl", std::ios::app) << m.dump() << "\n";
    if (o.save_every > 0 && ((step + 1) % o.save_every == 0 || last_step))
      SaveCheckpoint(scorer, optimizer, o, step + 1);
  }
  report.steps = schedule.total_steps;
  if (rank == 0) {
    scorer.Save(o.out_dir);
    report.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    util::WriteFileAtomic(o.out_dir + "/train_report.json", report.ToJson(o));
  }
  return report;
}

std::string RetrieverTrainReport::ToJson(const RetrieverTrainOptions& o) const {
  nlohmann::ordered_json j = {{"mode", o.mode},
                              {"temperature", o.temperature},
                              {"lr", o.lr},
                              {"batch_size", o.batch_size},
                              {"epochs", o.epochs},
                              {"ndcg_k", o.ndcg_k},
                              {"train_questions", train_questions},
                              {"heldout_questions", heldout_questions},
                              {"steps", steps},
                              {"before", EvalJson(before)},
                              {"after", EvalJson(after)},
                              {"seconds", seconds}};
  return j.dump(2) + "\n";
}

std::string RetrieverTrainReport::Summary(const RetrieverTrainOptions& o, const std::string& what,
                                          const std::string& first) const {
  // The path and names go in whole (a fixed buffer would cut a long path short).
  char secs[32];
  std::snprintf(secs, sizeof secs, "%.0f", seconds);
  return "wrote " + o.out_dir + ": " + o.mode + " " + what + " after " + std::to_string(steps) + " steps on " +
         std::to_string(train_questions) + " questions (" + std::to_string(heldout_questions) + " held out): ndcg@" +
         std::to_string(o.ndcg_k) + " " + Fixed(before.ndcg) + " -> " + Fixed(after.ndcg) + ", top-1 utility " +
         Fixed(before.top1_utility) + " -> " + Fixed(after.top1_utility) + " (" + first + " " +
         Fixed(after.first_stage_top1_utility) + ", best fixed " + Fixed(after.best_fixed_top1_utility) + ", oracle " +
         Fixed(after.oracle_top1_utility) + ") in " + secs + " s";
}

std::function<std::string(const std::string& model_dir, int64_t step)> RefreshShardsWith(
    const std::vector<net::Endpoint>& servers, const net::ClientOptions& client) {
  return [servers, client](const std::string& dir, int64_t) {
    std::string summary;
    for (const auto& r : retrieval::RefreshShards(servers, client, dir, std::chrono::hours(1))) {
      char line[96];
      std::snprintf(line, sizeof line, "version %llu in %.1f s", static_cast<unsigned long long>(r.index_version),
                    r.seconds);
      summary += (summary.empty() ? "" : "; ") + r.server + ": " + (r.ok ? line : "FAILED, " + r.error);
    }
    return summary;
  };
}

std::string TrainRetrieverOnRank(const comm::MpiJob& mpi, const std::string& init_dir, const std::string& feedback_path,
                                 const RetrieverTrainOptions& o) {
  const auto feedback = ReadFeedback(feedback_path);
  const std::string checkpoint = o.resume ? NewestRetrieverCheckpoint(o.out_dir) : "";
  const std::string encoder_dir = checkpoint.empty() ? init_dir : checkpoint;
  auto encoder = model::LoadBert(encoder_dir);
  const auto tokenizer = text::Tokenizer::FromFile(encoder_dir + "/tokenizer.json");
  const auto group = DataParallelGroup(mpi, "retriever learners");
  const auto report = TrainRetriever(
      encoder, encoder_dir, *tokenizer, feedback, o, group.get(),
      [&o](const std::string& line) { std::fprintf(stderr, "%s: %s\n", o.command.c_str(), line.c_str()); });
  return report.Summary(o, "retriever", "first stage");
}

}  // namespace prlm::pipeline
