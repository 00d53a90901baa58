#include "coordinator/coordinator.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <set>

#include <fmt/ranges.h>

#include "common/comm/job_messages.h"
#include "common/comm/mpi_job.h"
#include "common/comm/preemption.h"
#include "common/comm/run_status.h"
#include "common/data/dataset.h"
#include "common/data/reasoning_file.h"
#include "common/monitor/step_metrics.h"
#include "common/objective/objective.h"
#include "common/objective/rollout_mismatch.h"
#include "common/util/check.h"
#include "common/util/clock.h"
#include "common/util/file.h"
#include "common/util/logging.h"
#include "common/util/rng.h"
#include "coordinator/checkpoints.h"
#include "coordinator/data_order.h"
#include "coordinator/em_schedule.h"
#include "coordinator/rollout_gateway.h"
#include "coordinator/run_monitor.h"
#include "coordinator/step_plan.h"
#include "coordinator/step_schedule.h"

namespace prlm::coordinator {

namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;

namespace {

// The distinct versions of `out` (steps out and their versions) other than
// `current`: the older weights a checkpoint keeps for them.
std::vector<int64_t> OlderVersions(const std::vector<std::pair<int64_t, int64_t>>& out, int64_t current) {
  std::vector<int64_t> older;
  for (const auto& [step, version] : out)
    if (version != current && std::find(older.begin(), older.end(), version) == older.end()) older.push_back(version);
  return older;
}

// Keeps the JSON lines of `path` whose `key` is at most `step`.
void DropLinesAfter(const std::string& path, const char* key, int64_t step) {
  if (!fs::exists(path)) return;
  std::string kept;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    const auto j = nlohmann::json::parse(line, nullptr, false);
    if (!j.is_discarded() && j.value(key, int64_t{0}) <= step) kept += line + "\n";
  }
  util::WriteFileAtomic(path, kept);
}

void AppendLine(const std::string& path, const Json& line) {
  std::ofstream out(path, std::ios::app);
  out << line.dump(-1, ' ', false, Json::error_handler_t::replace) << "\n";
  PRLM_REQUIRE(out.good(), path << ": cannot append (disk full?)");
}

class Coordinator {
 public:
  Coordinator(const comm::TrainJob& job, std::unique_ptr<net::RpcServer> elastic_server)
      : job_(job), c_(job.config), objective_(objective::MakeObjective(job.config)), inbox_(job.world) {
    rollouts_ = comm::OfRole(job.directory, comm::Role::kRollout);
    learners_ = comm::OfRole(job.directory, comm::Role::kLearner);
    for (const auto& r : job.directory)
      if (r.role == comm::Role::kRetrieval || r.role == comm::Role::kReward) services_.push_back(r);
    PRLM_CHECK_MSG(c_.rollout.elastic == (elastic_server != nullptr), "rollout.elastic needs the gateway's server");
    if (elastic_server) OpenGateway(std::move(elastic_server));
  }

  int Run();

 private:
  // Before the steps: the data, a fresh or resumed run, the ranks started.
  int64_t Begin();
  // After them: status.json and every rank stopped.
  void Finish(int64_t step, int preempted);
  // One step: order → rollout → plan → learn → record → checkpoint.
  // RolloutStep is the first three (the step's questions unless `prefetched`).
  StepPlan RolloutStep(int64_t step, bool prefetched);
  // The first three of a step of `shape`'s kind (step_schedule.h).
  StepPlan PlanStepOfKind(int64_t step, const StepShape& shape, bool prefetched);
  void SendWork(int64_t step, const std::vector<int64_t>& indices, int64_t version);
  // The data order's next questions as `step`'s work; notes the cursor after them.
  // `version` < 0: the learners' version now.
  void SendNextQuestions(int64_t step, int64_t version = -1) {
    SendWork(step, order_->Next(cursor_), version < 0 ? weight_version_ : version);
    cursor_after_[step] = cursor_;
  }
  // The step's prompts as SendWork hands them out (rollout.elastic: in work items).
  std::vector<proto::RolloutWork> WorkOf(int64_t step, const std::vector<int64_t>& indices) const;
  // rollout.elastic: the gateway on `server`; RUN/gateway says where it is.
  void OpenGateway(std::unique_ptr<net::RpcServer> server);
  std::vector<proto::RolloutResult> GatherResults(int64_t step);
  // rest (em_schedule.h): an E-step step keeps its sequences; an M-step step
  // trains on a batch of them.
  StepPlan CollectStep(int64_t step, const EmPosition& at);
  StepPlan UpdateStep(int64_t step, const EmPosition& at);
  // rest: the iteration's line in RUN/rest_iterations.jsonl and its model in
  // RUN/iterations/iteration-I (hard links: checkpoint pruning keeps it).
  void EndIteration(int64_t step, const EmPosition& at);
  void Learn(const std::vector<proto::LearnStep>& learn, monitor::StepMetrics* metrics);
  void Record(const monitor::StepMetrics& metrics, int64_t first_step);
  // This process's CPU seconds (every thread) and traffic (job messages,
  // gateway frames) so far.
  monitor::CoordinatorMetrics CostSoFar() const;
  void SaveCheckpoint(int64_t step);

  void Send(const proto::JobMessage& m, int rank);
  void Broadcast(const proto::JobMessage& m, const std::vector<comm::RankInfo>& to) {
    for (const auto& r : to) Send(m, r.rank);
  }
  // The next message from each rank of `from`, each of `kind`; aborts the
  // job naming every rank that sent none within the timeout.
  std::vector<proto::JobMessage> ReceiveEach(proto::JobMessage::BodyCase kind, const char* what,
                                             const std::vector<comm::RankInfo>& from);

  const comm::TrainJob& job_;
  const config::TrainConfig& c_;
  const std::unique_ptr<objective::Objective> objective_;
  comm::Inbox inbox_;
  std::vector<comm::RankInfo> rollouts_, learners_, services_;
  data::Dataset train_;
  std::map<std::string, std::string> reasoning_;  // question id -> sft reasoning path (grpo.sft_reasoning)
  std::unique_ptr<DataOrder> order_;
  DataCursor cursor_;                           // after the last step whose questions were drawn
  std::map<int64_t, DataCursor> cursor_after_;  // the cursor after each step's questions (steps in flight)
  // The version each step in flight went out with (rollout.elastic), or is
  // owed with after a preemption signal (either tier).
  std::map<int64_t, int64_t> posted_version_;
  std::vector<std::pair<int64_t, int64_t>> resumed_out_;  // (step, version) out at the checkpoint resumed from
  std::optional<EmSchedule> em_;                          // objective rest
  StepSchedule schedule_;
  proto::KeptSet kept_;  // rest: the iteration's kept sequences
  size_t sent_to_ = 0;   // rollout workers given the step's prompts
  int64_t total_steps_ = 0, stop_at_ = 0, weight_version_ = 0;
  std::string metrics_path_;
  std::unique_ptr<RunMonitor> monitor_;
  std::unique_ptr<RolloutGateway> gateway_;         // rollout.elastic
  std::optional<monitor::ElasticMetrics> elastic_;  // the last collected step's
  util::Clock::time_point run_start_;
};

int Coordinator::Run() {
  int64_t step = Begin();
  const int64_t first = step;
  int64_t out_through = step - 1;  // the last step whose work went out (ahead of the update: grpo.max_staleness)
  // Steps that were out at the checkpoint go out again with their versions.
  for (const auto& [out_step, version] : resumed_out_) {
    PRLM_REQUIRE(out_step == out_through + 1, "the checkpoint's trainer_state.json lists step "
                                                  << out_step + 1 << " as out after step " << out_through + 1
                                                  << " (out_steps must follow the saved step in order)");
    SendNextQuestions(++out_through, version);
  }
  // MPI tier: learner 0 sent the workers the older version first; they
  // generated the step out with it and now join the broadcast of the
  // checkpoint's weights.
  if (!gateway_ && !OlderVersions(resumed_out_, weight_version_).empty()) {
    proto::JobMessage sync;
    sync.mutable_sync()->set_step(step);
    Broadcast(sync, rollouts_);
  }
  int preempted = 0;
  for (; step < stop_at_; ++step) {
    util::SetLogStep(step + 1);
    const auto t0 = util::Clock::now();
    const monitor::CoordinatorMetrics cost0 = CostSoFar();
    const DataCursor cursor_before = cursor_;
    // 1-3. Order → rollout → plan, as the step's kind says.
    const StepShape shape = schedule_.At(step);
    StepPlan plan = PlanStepOfKind(step, shape, /*sent=*/out_through >= step);
    out_through = std::max(out_through, step);
    // A signal here or on any rank makes this step the last.
    if (preempted == 0) preempted = comm::PreemptionSignal();
    if (preempted == 0) preempted = inbox_.TakePreempt();
    const bool save_now = schedule_.SavesAfter(shape, step, preempted != 0);
    // Work ahead: steps up to grpo.max_staleness past this one, each to be
    // generated with the weights before this step's update.
    for (const int64_t through = schedule_.AheadThrough(step, save_now); out_through < through;) {
      SendNextQuestions(++out_through);
    }
    // A run that is not preempted would send more now: those steps are owed
    // with this version, and the checkpoint lists them with the steps out,
    // so the resumed run sends them as this one would have. Learner 0 keeps
    // this version's weights for them (the elastic tier's store has them).
    const int64_t owed_through =
        preempted != 0 && !schedule_.SavesAfter(shape, step, false) ? schedule_.AheadThrough(step, false) : out_through;
    for (int64_t s = out_through + 1; s <= owed_through; ++s) posted_version_[s] = weight_version_;
    if (plan.metrics.skipped_questions > 0)
      spdlog::warn("step {}: {} questions skipped; the first: {}", step, plan.metrics.skipped_questions,
                   plan.first_skip);
    // 4. Learn: the update, then learner 0's weight broadcast.
    if (owed_through > out_through && !gateway_ && !plan.learn.empty())
      plan.learn.front().set_keep_weights_before(true);
    if (!plan.learn.empty()) Learn(plan.learn, &plan.metrics);
    if (gateway_) gateway_->Publish(weight_version_);  // workers mid-item may take it (grpo.partial_rollouts)
    // 5. Record.
    monitor::StepMetrics& m = plan.metrics;
    m.global_step = step + 1;
    m.epoch = shape.kind == StepKind::kRollout ? cursor_before.epoch : shape.em.iteration;
    m.weight_version = weight_version_;
    m.elastic = elastic_;
    m.timing.step = util::Seconds(t0);
    const monitor::CoordinatorMetrics cost1 = CostSoFar();
    m.coordinator = {cost1.cpu_s - cost0.cpu_s, cost1.messages - cost0.messages, cost1.bytes - cost0.bytes};
    m.throughput = static_cast<double>(m.total_num_tokens) / std::max(m.timing.step, 1e-9);
    Record(m, first);
    // 6. Checkpoint; an EM iteration's last step also keeps its model.
    if (save_now) SaveCheckpoint(step + 1);
    cursor_after_.erase(cursor_after_.begin(), cursor_after_.lower_bound(step + 1));
    posted_version_.erase(posted_version_.begin(), posted_version_.lower_bound(step + 1));
    if (shape.ends_iteration) EndIteration(step, shape.em);
    if (preempted != 0) {
      spdlog::warn("{} received: stopping after step {} with its checkpoint (resume with trainer.resume=auto)",
                   comm::SignalName(preempted), step + 1);
      ++step;
      break;
    }
  }
  // Work still out (a preemption at grpo.max_staleness >= 2) is in the
  // checkpoint: the resumed run posts it again with its versions.
  PRLM_CHECK_MSG(out_through < step || preempted != 0, "step " << out_through + 1 << "'s work is still out");
  Finish(step, preempted);
  return 0;
}

StepPlan Coordinator::PlanStepOfKind(int64_t step, const StepShape& shape, bool prefetched) {
  switch (shape.kind) {
    case StepKind::kRollout:
      return RolloutStep(step, prefetched);
    case StepKind::kCollect:
      return CollectStep(step, shape.em);
    case StepKind::kUpdate:
      return UpdateStep(step, shape.em);
  }
  PRLM_CHECK_MSG(false, "unknown step kind");
}

int64_t Coordinator::Begin() {
  // 1. The training questions and their order.
  const data::TaskSpec* task = data::TaskOrNull(c_.data.task);
  train_ = data::LoadLampSplit(c_.data.dir, c_.data.train_split, task);
  for (const auto& ex : train_.examples)
    PRLM_REQUIRE(ex.output.has_value(), train_.source << ": question '" << ex.id << "' has no gold output; "
                                                      << "training needs the split's outputs file");
  if (!c_.grpo.sft_reasoning.empty()) {
    // sft on reasoning paths: every training question has one (nothing trains on a silent default).
    size_t leaks = 0;
    for (auto& [id, path] : data::ReadReasoningFile(c_.grpo.sft_reasoning)) {
      leaks += path.leaks;
      reasoning_[id] = std::move(path.reasoning);
    }
    size_t missing = 0;
    std::string first_missing;
    for (const auto& ex : train_.examples)
      if (!reasoning_.count(ex.id) && missing++ == 0) first_missing = ex.id;
    PRLM_REQUIRE(missing == 0, "grpo.sft_reasoning: " << c_.grpo.sft_reasoning << " has no reasoning for " << missing
                                                      << " of the " << train_.examples.size()
                                                      << " training questions (the first: " << first_missing
                                                      << "); write it for this split with make-reasoning");
    spdlog::info("sft targets: reasoning paths from {} ({} repeat the expected output)", c_.grpo.sft_reasoning, leaks);
  }
  order_ = std::make_unique<DataOrder>(static_cast<int64_t>(train_.examples.size()), c_.trainer.prompts_per_step,
                                       static_cast<uint64_t>(c_.trainer.seed));
  total_steps_ = c_.trainer.total_steps > 0 ? c_.trainer.total_steps : c_.trainer.epochs * order_->steps_per_epoch();
  // The learners' LR schedule spans the run, or with rest one M-step.
  int64_t schedule_steps = total_steps_;
  if (c_.grpo.objective == config::ObjectiveKind::kRest) {
    em_ = MakeEmSchedule(c_, static_cast<int64_t>(train_.examples.size()));
    total_steps_ = em_->total_steps();
    schedule_steps = em_->update_steps;
    spdlog::info("rest: {} iterations of {} E-step steps (sampling {} candidates per question) and {} M-step steps",
                 em_->iterations, em_->collect_steps, c_.grpo.group_size, em_->update_steps);
  }

  // 2. Fresh or resumed.
  fs::create_directories(c_.trainer.output_dir);
  util::WriteFileAtomic(c_.trainer.output_dir + "/config.yaml", c_.ToYaml());
  metrics_path_ = c_.trainer.output_dir + "/metrics.jsonl";
  const std::string resume = ResolveResume(c_.trainer.output_dir, c_.trainer.resume);
  int64_t step = 0;
  std::vector<int64_t> start_versions;  // older versions learner 0 publishes from the checkpoint
  if (!resume.empty()) {
    const TrainerState s = ReadTrainerState(resume);
    step = s.step;
    cursor_ = s.cursor;
    weight_version_ = s.weight_version;
    PRLM_REQUIRE(s.total_steps == total_steps_, resume << ": the checkpoint's run has " << s.total_steps
                                                       << " steps, this config " << total_steps_
                                                       << " (the LR schedule would change)");
    // Lines of steps after the checkpoint belong to the lost future: drop them.
    DropLinesAfter(metrics_path_, monitor::keys::kGlobalStep, step);
    DropLinesAfter(c_.trainer.output_dir + "/rest_iterations.jsonl", "global_step", step);
    if (em_) kept_ = ReadKeptSet(resume);
    resumed_out_ = s.out_steps;
    // The MPI tier sends one older version ahead of the checkpoint's (an
    // elastic run's checkpoint at grpo.max_staleness >= 2 may list more).
    if (!c_.rollout.elastic && OlderVersions(resumed_out_, weight_version_).size() > 1) {
      spdlog::warn(
          "{}: steps {}..{} were out with older weights; without rollout.elastic they are drawn again with "
          "the checkpoint's",
          resume, resumed_out_.front().first + 1, resumed_out_.back().first + 1);
      resumed_out_.clear();
    }
    start_versions = OlderVersions(resumed_out_, weight_version_);
    spdlog::info("resuming from {} at step {} (epoch {}, position {})", resume, step, cursor_.epoch, cursor_.position);
  } else {
    util::WriteFileAtomic(metrics_path_, "");
    if (em_) util::WriteFileAtomic(c_.trainer.output_dir + "/rest_iterations.jsonl", "");
  }
  stop_at_ =
      c_.trainer.stop_after_steps > 0 ? std::min(total_steps_, step + c_.trainer.stop_after_steps) : total_steps_;
  schedule_ =
      StepSchedule(em_, c_.trainer.save_every, stop_at_, objective::RunsOneStepOff(c_) ? c_.grpo.max_staleness : 0);
  spdlog::info("{} training questions, {} per step, {} steps per epoch, {} steps; {} rollout workers, {} learners",
               train_.examples.size(), c_.trainer.prompts_per_step, order_->steps_per_epoch(), total_steps_,
               rollouts_.size(), learners_.size());
  // Measured on the demo (docs/async.md): two and four steps ahead with the
  // sampler's log-probs as the old policy's, where no correction applies,
  // lost what GRPO gained on held-out users; decoupled PPO kept it at two.
  if (objective::RunsOneStepOff(c_) && c_.grpo.max_staleness >= 2 && c_.grpo.old_logprobs == "rollout")
    spdlog::warn(
        "grpo.max_staleness = {} with grpo.old_logprobs=rollout: no off-policy correction applies to samples up to {} "
        "versions old; grpo.old_logprobs=recompute turns on decoupled PPO (docs/async.md)",
        c_.grpo.max_staleness, c_.grpo.max_staleness);
  monitor_ = std::make_unique<RunMonitor>(c_, total_steps_);
  comm::WriteRunStatus(c_.trainer.output_dir, "running", step);

  // 3. Start: learners load, learner 0 sends the starting weights.
  proto::JobMessage start;
  start.mutable_start()->set_resume_dir(resume);
  start.mutable_start()->set_total_steps(schedule_steps);
  start.mutable_start()->set_first_step(step);
  start.mutable_start()->mutable_rollout_versions()->Add(start_versions.begin(), start_versions.end());
  Broadcast(start, learners_);
  Broadcast(start, rollouts_);
  run_start_ = util::Clock::now();
  return step;
}

void Coordinator::Finish(int64_t step, int preempted) {
  // status.json tells a job script whether to requeue (preempted or stopped
  // early) or not (finished).
  const std::string state = preempted ? "preempted" : step >= total_steps_ ? "finished" : "stopped";
  comm::WriteRunStatus(c_.trainer.output_dir, state, step, total_steps_);
  proto::JobMessage stop;
  stop.mutable_stop()->set_reason(preempted              ? comm::SignalName(preempted)
                                  : step >= total_steps_ ? "finished"
                                                         : "trainer.stop_after_steps reached");
  Broadcast(stop, learners_);
  if (gateway_)
    gateway_->Stop(std::chrono::seconds(10));  // workers ask at least every second
  else
    Broadcast(stop, rollouts_);
  Broadcast(stop, services_);
  spdlog::info("done: {} steps; metrics in {}", step, metrics_path_);
}

std::vector<proto::RolloutWork> Coordinator::WorkOf(int64_t step, const std::vector<int64_t>& indices) const {
  // MPI: an even split, the first workers taking one more when it does not
  // divide. Elastic: items of rollout.item_prompts (or that split's size).
  const size_t W = rollouts_.size();
  const size_t per_item =
      c_.rollout.item_prompts > 0 ? static_cast<size_t>(c_.rollout.item_prompts) : (indices.size() + W - 1) / W;
  const size_t parts = gateway_ ? (indices.size() + per_item - 1) / per_item : W;
  std::vector<proto::RolloutWork> work(parts);
  size_t begin = 0;
  for (size_t w = 0; w < parts; ++w) {
    const size_t n =
        gateway_ ? std::min(per_item, indices.size() - begin) : indices.size() / W + (w < indices.size() % W ? 1 : 0);
    work[w].set_step(step);
    work[w].set_prompts_only(objective_->rollout_product() == objective::RolloutProduct::kGoldTarget);
    for (size_t i = begin; i < begin + n; ++i) {
      const auto& ex = train_.examples[static_cast<size_t>(indices[i])];
      auto* p = work[w].add_prompts();
      p->set_index(static_cast<uint64_t>(indices[i]));
      p->set_example_id(ex.id);
      p->set_user_id(ex.user_id);
      p->set_input(ex.input);
      p->set_query(ex.query);
      p->set_gold(*ex.output);
      if (const auto it = reasoning_.find(ex.id); it != reasoning_.end()) p->set_reasoning(it->second);
    }
    begin += n;
  }
  return work;
}

void Coordinator::SendWork(int64_t step, const std::vector<int64_t>& indices, int64_t version) {
  std::vector<proto::RolloutWork> work = WorkOf(step, indices);
  if (gateway_) {
    posted_version_[step] = version;
    return gateway_->Post(step, version, std::move(work));
  }
  sent_to_ = std::min(rollouts_.size(), indices.size());
  for (size_t w = 0; w < work.size(); ++w) {
    if (work[w].prompts_size() == 0) continue;
    proto::JobMessage m;
    *m.mutable_work() = std::move(work[w]);
    Send(m, rollouts_[w].rank);
  }
}

void Coordinator::OpenGateway(std::unique_ptr<net::RpcServer> server) {
  GatewayOptions o;
  o.lease = std::chrono::milliseconds(static_cast<int64_t>(c_.rollout.lease_s * 1000));
  o.poll = std::min(std::chrono::milliseconds(1000), o.lease / 4);  // an idle worker is heard well within a lease
  o.item_timeout = std::chrono::milliseconds(static_cast<int64_t>(c_.rollout.item_timeout_s * 1000));
  o.config_yaml = c_.ToYaml();
  for (const auto& r : comm::OfRole(job_.directory, comm::Role::kRetrieval)) o.retrieval.push_back(r.Address());
  for (const auto& r : comm::OfRole(job_.directory, comm::Role::kReward)) o.reward.push_back(r.Address());
  o.learner_weights = learners_.at(0).Address();
  o.partial_rollouts = c_.grpo.partial_rollouts != config::PartialRollouts::kOff;
  gateway_ = std::make_unique<RolloutGateway>(std::move(server), std::move(o));
  const std::string where = job_.me.host + ":" + std::to_string(gateway_->port());
  fs::create_directories(c_.trainer.output_dir);
  util::WriteFileAtomic(c_.trainer.output_dir + "/gateway", where + "\n");
  spdlog::info(
      "rollout gateway at {} (rollout.elastic): more workers can join with prlm rollout --join {} {}", where, where,
      c_.net.secret_file.empty() ? "(once the job sets net.secret_file)" : "--secret-file " + c_.net.secret_file);
}

std::vector<proto::RolloutResult> Coordinator::GatherResults(int64_t step) {
  std::vector<proto::RolloutResult> results;
  if (gateway_) {
    RolloutGateway::Collected c = gateway_->Collect(step, job_.rank_timeout);
    if (!c.lost.empty())
      spdlog::warn("step {}: rollout workers lost: {}; {} work items re-issued, {} workers go on", step + 1,
                   fmt::join(c.lost, ", "), c.reissued, c.workers);
    elastic_ = monitor::ElasticMetrics{c.workers, c.reissued, static_cast<int64_t>(c.lost.size()), c.duplicates};
    results = std::move(c.results);
  } else {
    // The workers SendWork gave prompts to: the first min(W, prompts) ones.
    const std::vector<comm::RankInfo> workers(rollouts_.begin(), rollouts_.begin() + static_cast<ptrdiff_t>(sent_to_));
    for (auto& m : ReceiveEach(proto::JobMessage::kResult, "rollout result", workers))
      results.push_back(std::move(*m.mutable_result()));
  }
  for (const auto& r : results)
    PRLM_CHECK_MSG(r.step() == step, "result of step " << r.step() << " during step " << step);
  // A service rank that failed the workers' calls (they went on to another
  // reward server, or another replica of the shard): named once per step.
  const auto name_failed = [&](auto servers_failed, const char* what, const char* others) {
    std::set<std::string> failed;
    for (const auto& r : results) failed.insert(servers_failed(r).begin(), servers_failed(r).end());
    for (const auto& address : failed) {
      std::string who = address;
      for (const auto& s : services_)
        if (s.Address() == address) who = job_.Describe(s.rank) + " at " + address;
      spdlog::warn("step {}: {} {} failed; the rollout workers' calls went on to {}", step + 1, what, who, others);
    }
  };
  name_failed(
      [](const proto::RolloutResult& r) -> const auto& { return r.reward_servers_failed(); }, "reward server",
      "the other reward servers");
  name_failed(
      [](const proto::RolloutResult& r) -> const auto& { return r.retrieval_servers_failed(); }, "retrieval replica",
      "the shard's other replicas");
  return results;
}

void Coordinator::Learn(const std::vector<proto::LearnStep>& learn, monitor::StepMetrics* m) {
  const auto t0 = util::Clock::now();
  for (size_t l = 0; l < learners_.size(); ++l) {
    proto::JobMessage message;
    *message.mutable_learn() = learn[l];
    Send(message, learners_[l].rank);
  }
  if (learn.front().sync_weights() && !gateway_) {  // elastic workers fetch from learner 0's store
    proto::JobMessage sync;
    sync.mutable_sync()->set_step(learn.front().step());
    Broadcast(sync, rollouts_);
  }
  // Statistics add up over learners; learner 0 reports the shared figures;
  // phase times are the slowest learner's.
  proto::LearnerStats sums;
  proto::RolloutMismatch mismatch;
  const auto replies = ReceiveEach(proto::JobMessage::kReport, "learner report", learners_);
  for (size_t l = 0; l < replies.size(); ++l) {
    const auto& r = replies[l].report();
    objective::AddLearnerStats(r.sums(), &sums);
    objective::MergeRolloutMismatch(r.rollout_mismatch(), &mismatch);
    if (l == 0) m->actor.grad_norm = r.grad_norm(), m->actor.lr = r.lr(), m->timing.sync_weights = r.sync_s();
    weight_version_ = std::max(weight_version_, r.weight_version());
    m->timing.old_log_prob = std::max(m->timing.old_log_prob, r.old_logprob_s());
    m->timing.ref = std::max(m->timing.ref, r.ref_s());
    m->timing.update_actor = std::max(m->timing.update_actor, r.update_s());
  }
  m->timing.learn = util::Seconds(t0);
  m->actor.entropy = sums.entropy() / std::max(1.0, sums.micro_batches());
  objective_->RecordStats(sums, m);
  // The sampler against the learner, in plain sight (warned past the
  // thresholds verl warns at for its importance weights).
  if (mismatch.tokens() > 0) {
    m->rollout_corr = objective::SummarizeRolloutMismatch(mismatch);
    if (m->rollout_corr->ess < 0.3 || std::abs(m->rollout_corr->kl) > 0.1)
      spdlog::warn(
          "step {}: the sampler's log-probs are far from the learner's: rollout_corr/kl {:.4f}, ess {:.3f} "
          "(off-policy samples or a numerics mismatch between generation and training)",
          learn.front().step() + 1, m->rollout_corr->kl, m->rollout_corr->ess);
  }
}

monitor::CoordinatorMetrics Coordinator::CostSoFar() const {
  timespec cpu{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
  const comm::MessageTraffic mpi = comm::JobMessageTraffic();
  const comm::MessageTraffic gateway = gateway_ ? gateway_->Traffic() : comm::MessageTraffic{};
  return {static_cast<double>(cpu.tv_sec) + 1e-9 * static_cast<double>(cpu.tv_nsec),
          static_cast<int64_t>(mpi.messages + gateway.messages), static_cast<int64_t>(mpi.bytes + gateway.bytes)};
}

void Coordinator::Record(const monitor::StepMetrics& m, int64_t first_step) {
  AppendLine(metrics_path_, ToJson(m));
  monitor_->RecordStep(m);
  comm::WriteRunStatus(c_.trainer.output_dir, "running", m.global_step);  // the step a failure reports
  if (m.global_step % c_.logging.console_every != 0 && m.global_step != stop_at_) return;
  const double elapsed = util::Seconds(run_start_);
  const double eta =
      elapsed / static_cast<double>(m.global_step - first_step) * static_cast<double>(stop_at_ - m.global_step);
  char tail[160];
  std::snprintf(tail, sizeof tail, " | len %.1f | %.2f s/step (gen %.0f%%, update %.0f%%) | eta %.0f s",
                m.response_length.mean, m.timing.step, 100 * m.timing.gen / m.timing.step,
                100 * m.timing.update_actor / m.timing.step, eta);
  spdlog::info("step {}/{}{}{}", m.global_step, total_steps_, objective_->ConsoleSummary(m), tail);
}

void Coordinator::SaveCheckpoint(int64_t step) {
  const std::string dir = CheckpointDir(c_.trainer.output_dir, step);
  const std::string tmp = dir + ".tmp";
  if (fs::exists(tmp)) fs::remove_all(tmp);
  fs::create_directories(tmp);
  proto::JobMessage m;
  m.mutable_save()->set_dir(tmp);
  m.mutable_save()->set_step(step);
  // Steps already out or owed (a preemption at grpo.max_staleness >= 1):
  // their versions, with learner 0 keeping the older weights, so the
  // resumed run generates them as this one would have.
  const std::vector<std::pair<int64_t, int64_t>> out_steps(posted_version_.lower_bound(step), posted_version_.end());
  for (const int64_t v : OlderVersions(out_steps, weight_version_)) m.mutable_save()->add_rollout_versions(v);
  Broadcast(m, learners_);
  const auto confirmations = ReceiveEach(proto::JobMessage::kSaved, "checkpoint confirmation", learners_);
  for (size_t l = 0; l < learners_.size(); ++l)
    if (const auto& error = confirmations[l].saved().error(); !error.empty())
      comm::AbortJob(job_.Who(), "checkpoint " + tmp + ": " + job_.Describe(learners_[l].rank) + " failed: " + error);
  TrainerState state;
  state.step = step;
  // The data cursor after the saved step's questions (steps drawn ahead of
  // it are drawn again on resume).
  const auto after = cursor_after_.find(step - 1);
  state.cursor = after != cursor_after_.end() ? after->second : cursor_;
  state.weight_version = weight_version_;
  state.total_steps = total_steps_;
  state.out_steps = out_steps;
  if (em_) WriteKeptSet(tmp, kept_);
  WriteManifest(tmp);
  WriteTrainerState(tmp, state);  // last: its presence marks the checkpoint complete
  CommitCheckpoint(c_.trainer.output_dir, dir, c_.trainer.keep_last);
  monitor_->RecordCheckpoint();
  spdlog::info("step {}: checkpoint {}", step, dir);
}

StepPlan Coordinator::RolloutStep(int64_t step, bool prefetched) {
  const auto t0 = util::Clock::now();
  // 1. Order: the step's questions go to the rollout workers.
  if (!prefetched) SendNextQuestions(step);
  // 2. Rollout: every worker's scored groups.
  const auto results = GatherResults(step);
  // 3. Plan: advantages, sequences, micro-batches per learner. The launch's
  // last update needs no broadcast: nobody generates after it.
  StepPlan plan = PlanStep(results, *objective_,
                           {step, weight_version_, c_.trainer.micro_batch_size, static_cast<int>(learners_.size()),
                            /*sync_weights=*/step + 1 < stop_at_, c_.grpo.max_staleness});
  if (plan.metrics.dropped_stale > 0)
    spdlog::warn("step {}: {} samples dropped as older than grpo.max_staleness = {} versions{}", step + 1,
                 plan.metrics.dropped_stale, c_.grpo.max_staleness,
                 plan.learn.empty() ? " (all of them: the step learns nothing)" : "");
  plan.metrics.timing.rollout = util::Seconds(t0);
  return plan;
}

StepPlan Coordinator::CollectStep(int64_t step, const EmPosition& at) {
  const auto t0 = util::Clock::now();
  if (at.index == 0) {  // a new E-step: the previous iteration's kept set is spent
    kept_.Clear();
    kept_.set_iteration(at.iteration);
  }
  PRLM_CHECK_MSG(kept_.iteration() == at.iteration,
                 "kept set of iteration " << kept_.iteration() << " during iteration " << at.iteration);
  // 1. Order: the next questions, in data-set order (each E-step asks every one).
  SendWork(step, em_->CollectQuestions(at.index), weight_version_);
  // 2. Rollout: K scored candidates per question.
  const auto results = GatherResults(step);
  // 3. Keep: the objective's keep rule picks what the M-step trains on.
  std::vector<proto::TrainSequence> kept;
  StepPlan plan = PlanSequences(
      results, *objective_,
      {step, weight_version_, c_.trainer.micro_batch_size, static_cast<int>(learners_.size()), false}, &kept);
  const monitor::RewardMetrics& r = *plan.metrics.rewards;
  kept_.set_candidates(kept_.candidates() + r.samples);
  kept_.set_reward_sum(kept_.reward_sum() + r.score.mean * static_cast<double>(r.samples));
  kept_.set_kept_reward_sum(kept_.kept_reward_sum() + r.kept_score->mean * static_cast<double>(r.kept));
  kept_.set_skipped_questions(kept_.skipped_questions() + plan.metrics.skipped_questions);
  for (auto& s : kept) *kept_.add_sequences() = std::move(s);
  plan.metrics.rest = monitor::RestMetrics{at.iteration + 1, monitor::RestPhase::kCollect};
  plan.metrics.timing.rollout = util::Seconds(t0);
  return plan;
}

StepPlan Coordinator::UpdateStep(int64_t step, const EmPosition& at) {
  const int64_t n = kept_.sequences_size();
  PRLM_REQUIRE(n > 0, "rest: iteration " << at.iteration + 1 << " kept none of its " << kept_.candidates()
                                         << " candidates (mean reward "
                                         << kept_.reward_sum() / std::max<int64_t>(1, kept_.candidates())
                                         << "); lower rest.keep_threshold, allow rest.keep_truncated, or raise "
                                            "grpo.max_completion_tokens");
  // 3. The batch: prompts_per_step kept sequences, in shuffled passes over the
  // kept set (a permutation per pass, seeded by the run and the iteration).
  const int64_t per_step = std::min<int64_t>(n, c_.trainer.prompts_per_step);
  const DataOrder order(
      n, per_step,
      util::SplitMix64::Mix(static_cast<uint64_t>(c_.trainer.seed) + 1 + static_cast<uint64_t>(at.iteration)));
  DataCursor cursor{at.index / order.steps_per_epoch(), (at.index % order.steps_per_epoch()) * per_step};
  std::vector<proto::TrainSequence> batch;
  for (int64_t i : order.Next(cursor)) batch.push_back(kept_.sequences(static_cast<int>(i)));
  // 4. Micro-batches per learner; the M-step's first restarts fine-tuning,
  // its last sends the new weights to the rollout workers for the next E-step.
  const bool last = at.index + 1 == em_->update_steps;
  StepPlan plan = PlanKeptSequences(batch, {step, weight_version_, c_.trainer.micro_batch_size,
                                            static_cast<int>(learners_.size()), last && step + 1 < stop_at_});
  if (at.index == 0)
    for (auto& l : plan.learn) l.set_restart(true);
  plan.metrics.rest = monitor::RestMetrics{at.iteration + 1, monitor::RestPhase::kUpdate};
  return plan;
}

void Coordinator::EndIteration(int64_t step, const EmPosition& at) {
  // The iteration's model outlives checkpoint pruning (trainer.keep_last).
  const std::string dir = fmt::format("{}/iterations/iteration-{}", c_.trainer.output_dir, at.iteration + 1);
  fs::remove_all(dir);
  fs::create_directories(c_.trainer.output_dir + "/iterations");
  fs::copy(CheckpointDir(c_.trainer.output_dir, step + 1) + "/policy", dir,
           fs::copy_options::recursive | fs::copy_options::create_hard_links);
  const double candidates = static_cast<double>(std::max<int64_t>(1, kept_.candidates()));
  const double kept = static_cast<double>(kept_.sequences_size());
  Json line;
  line["iteration"] = at.iteration + 1;
  line["global_step"] = step + 1;
  line["policy"] = dir;
  line["candidates"] = kept_.candidates();
  line["kept"] = kept_.sequences_size();
  line["kept_fraction"] = kept / candidates;
  line["reward_mean"] = kept_.reward_sum() / candidates;
  line["kept_reward_mean"] = kept_.kept_reward_sum() / std::max(1.0, kept);
  line["skipped_questions"] = kept_.skipped_questions();
  AppendLine(c_.trainer.output_dir + "/rest_iterations.jsonl", line);
  spdlog::info("iteration {} of {}: kept {} of {} candidates (mean reward {:.4f}, kept {:.4f}); model in {}",
               at.iteration + 1, em_->iterations, kept_.sequences_size(), kept_.candidates(),
               line["reward_mean"].get<double>(), line["kept_reward_mean"].get<double>(), dir);
}

void Coordinator::Send(const proto::JobMessage& m, int rank) {
  if (!comm::SendMessage(m, rank, job_.world, job_.rank_timeout))
    comm::AbortJob(job_.Who(), std::string("sending '") + comm::BodyName(m) + "' to " + job_.Describe(rank) +
                                   fmt::format(" timed out after trainer.rank_timeout_s = {:g} s (the rank is stuck)",
                                               c_.trainer.rank_timeout_s));
}

// With one-step-off rollout, results and learner reports are in flight at
// once: the inbox takes both in as they come. When ranks stay silent, all are
// named: one stuck learner leaves the others waiting for it in the
// all-reduce, and naming only the first would blame a healthy one.
std::vector<proto::JobMessage> Coordinator::ReceiveEach(proto::JobMessage::BodyCase kind, const char* what,
                                                        const std::vector<comm::RankInfo>& from) {
  std::vector<int> ranks, missing;
  for (const auto& r : from) ranks.push_back(r.rank);
  std::vector<proto::JobMessage> messages;
  if (!inbox_.ReceiveFromEach(ranks, job_.rank_timeout, &messages, &missing)) {
    std::string names;
    for (int rank : missing) names += (names.empty() ? "" : ", ") + job_.Describe(rank);
    const char* why = missing.size() == 1 ? "(the rank is stuck)"
                                          : "(at least one is stuck; the others may be waiting for it in a collective)";
    comm::AbortJob(job_.Who(),
                   std::string("no ") + what + " from " + names +
                       fmt::format(" within trainer.rank_timeout_s = {:g} s {}", c_.trainer.rank_timeout_s, why));
  }
  for (size_t i = 0; i < messages.size(); ++i)
    if (messages[i].body_case() != kind)
      comm::AbortJob(job_.Who(), std::string("expected ") + what + " but " + job_.Describe(ranks[i]) + " sent '" +
                                     comm::BodyName(messages[i]) + "'");
  return messages;
}

}  // namespace

int RunCoordinator(const comm::TrainJob& job, std::unique_ptr<net::RpcServer> elastic_server) {
  return Coordinator(job, std::move(elastic_server)).Run();
}

}  // namespace prlm::coordinator
