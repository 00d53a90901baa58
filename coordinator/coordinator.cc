#include "coordinator/coordinator.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "common/comm/job_messages.h"
#include "common/comm/mpi_job.h"
#include "common/comm/preemption.h"
#include "common/data/dataset.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "common/util/logging.h"
#include "coordinator/advantages.h"
#include "coordinator/batch_plan.h"
#include "coordinator/checkpoints.h"
#include "coordinator/data_order.h"
#include "coordinator/run_monitor.h"

namespace prlm::coordinator {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;
using Json = nlohmann::ordered_json;

namespace {

double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

struct Stat {
  double sum = 0, min = 0, max = 0;
  size_t n = 0;
  void Add(double v) {
    min = n ? std::min(min, v) : v;
    max = n ? std::max(max, v) : v;
    sum += v;
    ++n;
  }
  double mean() const { return n ? sum / static_cast<double>(n) : 0; }
};

class Coordinator {
 public:
  explicit Coordinator(const comm::TrainJob& job) : job_(job), c_(job.config), inbox_(job.world) {
    rollouts_ = comm::OfRole(job.directory, comm::Role::kRollout);
    learners_ = comm::OfRole(job.directory, comm::Role::kLearner);
    for (const auto& r : job.directory)
      if (r.role == comm::Role::kRetrieval || r.role == comm::Role::kReward) services_.push_back(r);
  }

  int Run();

 private:
  void Send(const proto::JobMessage& m, int rank) {
    if (!comm::SendMessage(m, rank, job_.world, job_.rank_timeout))
      comm::AbortJob(job_.Who(), std::string("sending '") + comm::BodyName(m) + "' to " + job_.Describe(rank) +
                                     fmt::format(" timed out after trainer.rank_timeout_s = {:g} s (the rank is stuck)",
                                                 c_.trainer.rank_timeout_s));
  }
  // The next message from `rank`, which must be of `kind`. With one-step-off
  // rollout, results and learner reports are in flight at once: the inbox
  // takes both in as they come.
  proto::JobMessage Receive(proto::JobMessage::BodyCase kind, const char* what, int rank) {
    proto::JobMessage m;
    if (!inbox_.Receive(&m, rank, job_.rank_timeout))
      comm::AbortJob(job_.Who(), std::string("no ") + what + " from " + job_.Describe(rank) +
                                     fmt::format(" within trainer.rank_timeout_s = {:g} s (the rank is stuck)",
                                                 c_.trainer.rank_timeout_s));
    if (m.body_case() != kind)
      comm::AbortJob(job_.Who(), std::string("expected ") + what + " but " + job_.Describe(rank) + " sent '" +
                                     comm::BodyName(m) + "'");
    return m;
  }

  void SendWork(int64_t step, const std::vector<int64_t>& indices);
  std::vector<proto::RolloutResult> GatherResults(int64_t step);
  Json Learn(int64_t step, const std::vector<proto::RolloutResult>& results, bool sync);
  void SaveCheckpoint(int64_t step);
  void AppendMetrics(const Json& line);
  void Broadcast(const proto::JobMessage& m, const std::vector<comm::RankInfo>& to) {
    for (const auto& r : to) Send(m, r.rank);
  }

  const comm::TrainJob& job_;
  const TrainConfig& c_;
  comm::Inbox inbox_;
  std::vector<comm::RankInfo> rollouts_, learners_, services_;
  data::Dataset train_;
  std::unique_ptr<DataOrder> order_;
  DataCursor cursor_;
  int64_t total_steps_ = 0, weight_version_ = 0;
  std::string metrics_path_;
  std::unique_ptr<RunMonitor> monitor_;
};

void Coordinator::SendWork(int64_t step, const std::vector<int64_t>& indices) {
  // Even split; the first workers take one more when it does not divide.
  const size_t W = rollouts_.size();
  size_t begin = 0;
  for (size_t w = 0; w < W; ++w) {
    const size_t n = indices.size() / W + (w < indices.size() % W ? 1 : 0);
    proto::JobMessage m;
    auto* work = m.mutable_work();
    work->set_step(step);
    work->set_prompts_only(c_.grpo.objective == "sft");
    for (size_t i = begin; i < begin + n; ++i) {
      const auto& ex = train_.examples[static_cast<size_t>(indices[i])];
      auto* p = work->add_prompts();
      p->set_index(static_cast<uint64_t>(indices[i]));
      p->set_example_id(ex.id);
      p->set_user_id(ex.user_id);
      p->set_input(ex.input);
      p->set_query(ex.query);
      p->set_gold(*ex.output);
    }
    begin += n;
    if (n > 0) Send(m, rollouts_[w].rank);
  }
}

std::vector<proto::RolloutResult> Coordinator::GatherResults(int64_t step) {
  // The workers SendWork gave prompts to: the first min(W, prompts) ones.
  const size_t expected = std::min<size_t>(rollouts_.size(), static_cast<size_t>(c_.trainer.prompts_per_step));
  std::vector<proto::RolloutResult> results;
  for (size_t w = 0; w < expected; ++w) {
    auto m = Receive(proto::JobMessage::kResult, "rollout result", rollouts_[w].rank);
    PRLM_CHECK_MSG(m.result().step() == step, "result of step " << m.result().step() << " during step " << step);
    results.push_back(std::move(*m.mutable_result()));
  }
  return results;
}

Json Coordinator::Learn(int64_t step, const std::vector<proto::RolloutResult>& results, bool sync) {
  const bool sft = c_.grpo.objective == "sft";
  // 1. The groups that could be asked, their rewards and advantages.
  std::vector<const proto::RolloutGroup*> groups;
  std::vector<int64_t> group_version;
  std::string first_error;
  size_t skipped = 0;
  for (const auto& r : results)
    for (const auto& g : r.groups()) {
      if (!g.error().empty() || g.samples_size() == 0) {
        ++skipped;
        if (first_error.empty()) first_error = "question " + std::to_string(g.index()) + ": " + g.error();
        continue;
      }
      groups.push_back(&g);
      group_version.push_back(r.weight_version());
    }
  if (groups.empty())
    comm::AbortJob(job_.Who(), "step " + std::to_string(step) + ": no question of the step could be asked; the "
                                   "first: " + first_error);
  if (skipped) spdlog::warn("step {}: {} questions skipped; the first: {}", step, skipped, first_error);
  std::vector<std::vector<double>> rewards;
  for (const auto* g : groups) {
    rewards.emplace_back();
    for (const auto& s : g->samples()) rewards.back().push_back(s.reward());
  }
  Advantages adv;
  if (sft) {
    for (const auto& r : rewards) adv.values.emplace_back(r.size(), 0.0), adv.kept.push_back(true);
  } else {
    AdvantageOptions ao;
    ao.scaling = c_.grpo.advantage_scaling == "batch"  ? AdvantageScaling::kBatchStd
                 : c_.grpo.advantage_scaling == "none" ? AdvantageScaling::kNone
                                                       : AdvantageScaling::kGroupStd;
    ao.eps = c_.grpo.advantage_eps;
    ao.drop_zero_std_groups = c_.grpo.drop_zero_std_groups;
    adv = ComputeAdvantages(rewards, ao);
  }

  // 2. Sequences, micro-batches, learners.
  std::vector<proto::TrainSequence> seqs;
  std::vector<int64_t> seq_tokens;
  Stat response_length, prompt_length, score, advantage, staleness;
  std::map<std::string, Stat> components;
  int64_t clipped = 0, total_tokens = 0;
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const auto& g = *groups[gi];
    prompt_length.Add(g.prompt_size());
    for (int si = 0; si < g.samples_size(); ++si) {
      const auto& s = g.samples(si);
      score.Add(s.reward());
      response_length.Add(s.tokens_size());
      if (!s.stopped()) ++clipped;
      for (const auto& cv : s.components()) components[cv.name()].Add(cv.value());
      total_tokens += g.prompt_size() + s.tokens_size();
      if (!adv.kept[gi]) continue;
      proto::TrainSequence seq;
      *seq.mutable_prompt() = g.prompt();
      *seq.mutable_completion() = s.tokens();
      *seq.mutable_rollout_logprobs() = s.logprobs();
      seq.set_advantage(adv.values[gi][static_cast<size_t>(si)]);
      advantage.Add(seq.advantage());
      staleness.Add(static_cast<double>(weight_version_ - group_version[gi]));
      seq_tokens.push_back(g.prompt_size() + s.tokens_size());
      seqs.push_back(std::move(seq));
    }
  }
  const auto plan = PlanMicroBatches(seq_tokens, c_.trainer.micro_batch_size);
  std::vector<int64_t> mb_tokens;
  for (const auto& mb : plan) {
    int64_t t = 0;
    for (size_t i : mb) t += seq_tokens[i];
    mb_tokens.push_back(t);
  }
  const auto owner = AssignToLearners(mb_tokens, static_cast<int>(learners_.size()));
  std::vector<proto::JobMessage> learn(learners_.size());
  for (auto& m : learn) {
    m.mutable_learn()->set_step(step);
    m.mutable_learn()->set_global_micro_batches(static_cast<int64_t>(std::max<size_t>(plan.size(), 1)));
    m.mutable_learn()->set_sync_weights(sync);
  }
  for (size_t mb = 0; mb < plan.size(); ++mb) {
    auto* out = learn[static_cast<size_t>(owner[mb])].mutable_learn()->add_micro_batches();
    for (size_t i : plan[mb]) *out->add_sequences() = seqs[i];
  }

  // 3. Update; learner 0 then broadcasts the weights to the rollout workers.
  const auto t0 = Clock::now();
  for (size_t l = 0; l < learners_.size(); ++l) Send(learn[l], learners_[l].rank);
  if (sync) {
    proto::JobMessage m;
    m.mutable_sync()->set_step(step);
    Broadcast(m, rollouts_);
  }
  std::map<std::string, double> sums;
  double grad_norm = 0, lr = 0, old_s = 0, ref_s = 0, update_s = 0, sync_s = 0;
  for (size_t l = 0; l < learners_.size(); ++l) {
    const auto m = Receive(proto::JobMessage::kReport, "learner report", learners_[l].rank);
    const auto& r = m.report();
    for (const auto& nv : r.sums()) sums[nv.name()] += nv.value();
    if (l == 0) grad_norm = r.grad_norm(), lr = r.lr(), sync_s = r.sync_s();
    weight_version_ = std::max(weight_version_, r.weight_version());
    old_s = std::max(old_s, r.old_logprob_s());
    ref_s = std::max(ref_s, r.ref_s());
    update_s = std::max(update_s, r.update_s());
  }
  const double learn_s = Seconds(t0);

  // 4. The step's metrics (verl's names where verl has one).
  Json j;
  const double mbs = std::max(1.0, sums["micro_batches"]);
  if (sft) {
    j["actor/sft_loss"] = sums["sft_loss"] / mbs;
  } else {
    j["actor/pg_loss"] = sums["pg_loss"] / mbs;
    j["actor/kl_loss"] = sums["kl_loss"] / mbs;
    j["actor/kl_coef"] = c_.grpo.beta;
    j["actor/ppo_kl"] = sums["ppo_kl"] / mbs;
    j["actor/pg_clipfrac"] = sums["pg_clipfrac"] / mbs;
    j["actor/pg_clipfrac_lower"] = sums["pg_clipfrac_dual"] / mbs;
  }
  j["actor/entropy"] = sums["entropy"] / mbs;
  j["actor/grad_norm"] = grad_norm;
  j["actor/lr"] = lr;
  if (!sft) {
    j["critic/score/mean"] = score.mean();
    j["critic/score/max"] = score.max;
    j["critic/score/min"] = score.min;
    j["critic/rewards/mean"] = score.mean();
    j["critic/advantages/mean"] = advantage.mean();
    j["critic/advantages/max"] = advantage.max;
    j["critic/advantages/min"] = advantage.min;
    for (const auto& [name, st] : components) j["reward/" + name + "/mean"] = st.mean();
    j["frac_reward_zero_std"] = adv.frac_reward_zero_std;
  }
  j["response_length/mean"] = response_length.mean();
  j["response_length/max"] = response_length.max;
  j["response_length/min"] = response_length.min;
  j["response_length/clip_ratio"] = static_cast<double>(clipped) / std::max<size_t>(1, response_length.n);
  j["prompt_length/mean"] = prompt_length.mean();
  j["rollout/staleness/mean"] = staleness.mean();
  j["rollout/skipped_questions"] = skipped;
  j["training/sequences"] = seqs.size();
  j["training/micro_batches"] = plan.size();
  double retrieval_s = 0, gen_s = 0, reward_s = 0;
  int64_t retrieval_retries = 0, reward_retries = 0, reward_queue = 0;
  for (const auto& r : results) {
    retrieval_s = std::max(retrieval_s, r.retrieval_s());
    gen_s = std::max(gen_s, r.generation_s());
    reward_s = std::max(reward_s, r.reward_s());
    retrieval_retries += r.retrieval_retries();
    reward_retries += r.reward_retries();
    reward_queue = std::max(reward_queue, r.reward_queue_depth());
  }
  j["service/retrieval_retries"] = retrieval_retries;
  j["service/reward_retries"] = reward_retries;
  j["service/reward_queue_depth"] = reward_queue;
  j["timing_s/retrieval"] = retrieval_s;
  j["timing_s/gen"] = gen_s;
  j["timing_s/reward"] = reward_s;
  j["timing_s/old_log_prob"] = old_s;
  j["timing_s/ref"] = ref_s;
  j["timing_s/update_actor"] = update_s;
  j["timing_s/sync_weights"] = sync_s;
  j["timing_s/learn"] = learn_s;
  j["perf/total_num_tokens"] = total_tokens;
  return j;
}

void Coordinator::SaveCheckpoint(int64_t step) {
  const std::string dir = CheckpointDir(c_.trainer.output_dir, step);
  const std::string tmp = dir + ".tmp";
  if (fs::exists(tmp)) fs::remove_all(tmp);
  fs::create_directories(tmp);
  proto::JobMessage m;
  m.mutable_save()->set_dir(tmp);
  m.mutable_save()->set_step(step);
  Broadcast(m, learners_);
  for (const auto& l : learners_) {
    const auto r = Receive(proto::JobMessage::kSaved, "checkpoint confirmation", l.rank);
    if (!r.saved().error().empty())
      comm::AbortJob(job_.Who(), "checkpoint " + tmp + ": " + job_.Describe(l.rank) + " failed: " + r.saved().error());
  }
  TrainerState state;
  state.step = step;
  state.cursor = cursor_;
  state.weight_version = weight_version_;
  state.total_steps = total_steps_;
  WriteManifest(tmp);
  WriteTrainerState(tmp, state);  // last: its presence marks the checkpoint complete
  CommitCheckpoint(c_.trainer.output_dir, dir, c_.trainer.keep_last);
  monitor_->RecordCheckpoint();
  spdlog::info("step {}: checkpoint {}", step, dir);
}

void Coordinator::AppendMetrics(const Json& line) {
  std::ofstream out(metrics_path_, std::ios::app);
  out << line.dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
  PRLM_REQUIRE(out.good(), metrics_path_ << ": cannot append (disk full?)");
}

int Coordinator::Run() {
  // 1. The training questions and their order.
  const data::TaskSpec* task = c_.data.task.empty() ? nullptr : &data::TaskByName(c_.data.task);
  train_ = data::LoadLampSplit(c_.data.dir, c_.data.train_split, task);
  for (const auto& ex : train_.examples)
    PRLM_REQUIRE(ex.output.has_value(), train_.source << ": question '" << ex.id << "' has no gold output; "
                                                      << "training needs the split's outputs file");
  order_ = std::make_unique<DataOrder>(static_cast<int64_t>(train_.examples.size()), c_.trainer.prompts_per_step,
                                       static_cast<uint64_t>(c_.trainer.seed));
  total_steps_ = c_.trainer.total_steps > 0 ? c_.trainer.total_steps : c_.trainer.epochs * order_->steps_per_epoch();

  // 2. Fresh or resumed.
  fs::create_directories(c_.trainer.output_dir);
  WriteFileAtomic(c_.trainer.output_dir + "/config.yaml", c_.ToYaml());
  metrics_path_ = c_.trainer.output_dir + "/metrics.jsonl";
  const std::string resume = ResolveResume(c_.trainer.output_dir, c_.trainer.resume);
  int64_t step = 0;
  if (!resume.empty()) {
    const TrainerState s = ReadTrainerState(resume);
    step = s.step;
    cursor_ = s.cursor;
    weight_version_ = s.weight_version;
    PRLM_REQUIRE(s.total_steps == total_steps_, resume << ": the checkpoint's run has " << s.total_steps
                                                       << " steps, this config " << total_steps_
                                                       << " (the LR schedule would change)");
    // Metrics of steps after the checkpoint belong to the lost future: drop them.
    std::string kept;
    if (fs::exists(metrics_path_)) {
      std::ifstream in(metrics_path_);
      for (std::string line; std::getline(in, line);) {
        const auto j = nlohmann::json::parse(line, nullptr, false);
        if (!j.is_discarded() && j.value("training/global_step", int64_t{0}) <= step) kept += line + "\n";
      }
    }
    WriteFileAtomic(metrics_path_, kept);
    spdlog::info("resuming from {} at step {} (epoch {}, position {})", resume, step, cursor_.epoch,
                 cursor_.position);
  } else {
    WriteFileAtomic(metrics_path_, "");
  }
  spdlog::info("{} training questions, {} per step, {} steps per epoch, {} steps; {} rollout workers, {} learners",
               train_.examples.size(), c_.trainer.prompts_per_step, order_->steps_per_epoch(), total_steps_,
               rollouts_.size(), learners_.size());

  monitor_ = std::make_unique<RunMonitor>(c_, total_steps_);
  WriteFileAtomic(c_.trainer.output_dir + "/status.json", Json{{"state", "running"}, {"step", step}}.dump() + "\n");

  // 3. Start: learners load, learner 0 sends the starting weights.
  proto::JobMessage start;
  start.mutable_start()->set_resume_dir(resume);
  start.mutable_start()->set_total_steps(total_steps_);
  start.mutable_start()->set_first_step(step);
  Broadcast(start, learners_);
  Broadcast(start, rollouts_);

  // 4. The steps.
  const int64_t stop_at = c_.trainer.stop_after_steps > 0 ? std::min(total_steps_, step + c_.trainer.stop_after_steps)
                                                          : total_steps_;
  const bool one_step_off = c_.grpo.max_staleness > 0 && c_.grpo.objective != "sft";
  const auto run_start = Clock::now();
  const int64_t first = step;
  bool prefetched = false;
  int preempted = 0;
  for (; step < stop_at; ++step) {
    SetLogStep(step + 1);
    const auto t0 = Clock::now();
    const DataCursor cursor_before = cursor_;
    if (!prefetched) SendWork(step, order_->Next(cursor_));
    auto results = GatherResults(step);
    const double rollout_s = Seconds(t0);
    // One-step-off: the next step's rollout runs on the current weights
    // while the learners update (not across a checkpoint, to keep resume exact).
    // 0. Preemption (a signal here or on any rank): this step is the last.
    if (preempted == 0) preempted = comm::PreemptionSignal();
    if (preempted == 0) preempted = inbox_.TakePreempt();
    const bool save_now = preempted != 0 || step + 1 == stop_at ||
                          (c_.trainer.save_every > 0 && (step + 1) % c_.trainer.save_every == 0);
    prefetched = one_step_off && !save_now;
    if (prefetched) SendWork(step + 1, order_->Next(cursor_));
    Json j;
    j["training/global_step"] = step + 1;
    j["training/epoch"] = cursor_before.epoch;
    // The launch's last update needs no broadcast: nobody generates after it
    // (a resumed launch starts with learner 0's weights anyway).
    Json m = Learn(step, results, /*sync=*/step + 1 < stop_at);
    j.update(m);
    j["training/weight_version"] = weight_version_;
    j["timing_s/rollout"] = rollout_s;
    const double step_s = Seconds(t0);
    j["timing_s/step"] = step_s;
    j["perf/throughput"] = j["perf/total_num_tokens"].get<double>() / std::max(step_s, 1e-9);
    AppendMetrics(j);
    monitor_->RecordStep(j);
    if ((step + 1) % c_.logging.console_every == 0 || step + 1 == stop_at) {
      const double elapsed = Seconds(run_start);
      const double eta = elapsed / static_cast<double>(step + 1 - first) * static_cast<double>(stop_at - step - 1);
      std::string line = "step " + std::to_string(step + 1) + "/" + std::to_string(total_steps_);
      char buf[256];
      if (c_.grpo.objective == "sft") {
        std::snprintf(buf, sizeof buf, " | sft loss %.4f", j["actor/sft_loss"].get<double>());
      } else {
        std::snprintf(buf, sizeof buf, " | reward %.3f | kl %.4f | clip %.3f", j["critic/score/mean"].get<double>(),
                      j["actor/kl_loss"].get<double>(), j["actor/pg_clipfrac"].get<double>());
      }
      line += buf;
      std::snprintf(buf, sizeof buf, " | len %.1f | %.2f s/step (gen %.0f%%, update %.0f%%) | eta %.0f s",
                    j["response_length/mean"].get<double>(), step_s, 100 * j["timing_s/gen"].get<double>() / step_s,
                    100 * j["timing_s/update_actor"].get<double>() / step_s, eta);
      line += buf;
      spdlog::info("{}", line);
    }
    if (save_now) SaveCheckpoint(step + 1);
    if (preempted != 0) {
      spdlog::warn("{} received: stopping after step {} with its checkpoint (resume with trainer.resume=auto)",
                   comm::SignalName(preempted), step + 1);
      ++step;
      break;
    }
  }
  PRLM_CHECK(!prefetched);

  // 5. Done: every rank stops. status.json tells a job script whether to
  // requeue (preempted or stopped early) or not (finished).
  const std::string state = preempted ? "preempted" : step >= total_steps_ ? "finished" : "stopped";
  WriteFileAtomic(c_.trainer.output_dir + "/status.json",
                  Json{{"state", state}, {"step", step}, {"total_steps", total_steps_}}.dump() + "\n");
  proto::JobMessage stop;
  stop.mutable_stop()->set_reason(preempted      ? comm::SignalName(preempted)
                                  : step >= total_steps_ ? "finished"
                                                         : "trainer.stop_after_steps reached");
  Broadcast(stop, learners_);
  Broadcast(stop, rollouts_);
  Broadcast(stop, services_);
  spdlog::info("done: {} steps; metrics in {}", step, metrics_path_);
  return 0;
}

}  // namespace

int RunCoordinator(const comm::TrainJob& job) { return Coordinator(job).Run(); }

}  // namespace prlm::coordinator
