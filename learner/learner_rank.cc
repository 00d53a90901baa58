#include "learner/learner_rank.h"

#include <chrono>
#include <filesystem>

#include "common/comm/job_messages.h"
#include "common/comm/mpi_job.h"
#include "common/comm/preemption.h"
#include "common/comm/tensor_collectives.h"
#include "common/model/compute_setup.h"
#include "common/model/pretrained.h"
#include "common/util/check.h"
#include "common/util/logging.h"
#include "learner/policy_learner.h"

namespace prlm::learner {

namespace {
using Clock = std::chrono::steady_clock;

proto::JobMessage Await(const comm::TrainJob& job) { return comm::AwaitCoordinator(job, comm::kForever); }

void Reply(const comm::TrainJob& job, const proto::JobMessage& m) {
  if (!comm::SendMessage(m, 0, job.world, job.rank_timeout))
    comm::AbortJob(job.Who(), std::string("sending '") + comm::BodyName(m) + "' to the coordinator timed out");
}
}  // namespace

int RunLearnerRank(const comm::TrainJob& job) {
  const TrainConfig& c = job.config;
  const int index = job.me.index;
  // 1. Start: what to load.
  proto::JobMessage m = Await(job);
  if (m.has_stop()) return 0;
  PRLM_CHECK_MSG(m.has_start(), "learner expected 'start', got '" << comm::BodyName(m) << "'");
  const proto::Start start = m.start();
  const std::string& resume = start.resume_dir();
  const ComputeDevice where = ResolveDevice(c.model.device, c.model.dtype);
  const LearnerOptions options = LearnerOptionsFrom(c, start.total_steps());
  const bool full_resume = !resume.empty() && !options.lora;
  auto policy = model::LoadQwen2(full_resume ? resume + "/policy" : c.model.policy, where.device, where.dtype);
  model::Qwen2ForCausalLM reference{nullptr};
  if (!options.sft && options.loss.beta > 0 && !options.lora)
    reference = model::LoadQwen2(c.model.policy, where.device, where.dtype);
  PolicyLearner learner(policy, reference, options);
  if (!resume.empty()) {
    if (options.lora) model::LoadLoraWeights(*learner.policy(), resume + "/policy/adapter");
    learner.LoadOptimizer(resume + "/learner");
    const std::string rng_path = resume + "/rng/learner-" + std::to_string(index) + ".pt";
    PRLM_REQUIRE(std::filesystem::exists(rng_path),
                 rng_path << " is missing: the checkpoint was written by fewer learners than layout.learners");
    torch::Tensor rng;
    try {
      torch::load(rng, rng_path);
      SetCpuRngState(rng);
    } catch (const c10::Error& e) {
      PRLM_THROW(rng_path << ": not a torch CPU generator state: " << e.what_without_backtrace());
    }
  }
  spdlog::info("learner {}: {} trainable tensors, weight version {}, {} optimizer steps done", index,
               learner.TrainableParameters().size(), learner.version(), learner.optimizer_steps());

  // 2. The starting weights reach every rollout worker.
  comm::TensorCollectives grads(job.learners, "learners");
  std::unique_ptr<comm::TensorCollectives> sync;
  if (index == 0) sync = std::make_unique<comm::TensorCollectives>(job.weight_sync, "weight sync");
  const auto weights = learner.TrainableParameters();
  int64_t version = learner.version();
  if (sync) comm::BroadcastWeights(*sync, &version, weights, job.rank_timeout);

  // 3. Serve the coordinator.
  const AllReduceFn all_reduce = [&](const std::vector<torch::Tensor>& t) { grads.AllReduceSum(t, job.rank_timeout); };
  while (true) {
    m = Await(job);
    if (m.has_stop()) return 0;
    proto::JobMessage out;
    if (m.has_learn()) {
      SetLogStep(m.learn().step() + 1);
      const StepStats stats = learner.Step(m.learn(), all_reduce);
      auto* r = out.mutable_report();
      if (sync && m.learn().sync_weights()) {
        const auto t0 = Clock::now();
        version = learner.version();
        comm::BroadcastWeights(*sync, &version, weights, job.rank_timeout);
        r->set_sync_s(std::chrono::duration<double>(Clock::now() - t0).count());
        spdlog::debug("step {}: weights v{} sent: {} bytes in {} buckets", m.learn().step(), version,
                      sync->last_bytes(), sync->last_buckets());
      }
      r->set_step(m.learn().step());
      r->set_weight_version(learner.version());
      for (const auto& [name, value] : stats.sums) {
        auto* nv = r->add_sums();
        nv->set_name(name);
        nv->set_value(value);
      }
      r->set_grad_norm(stats.grad_norm);
      r->set_lr(stats.lr);
      r->set_old_logprob_s(stats.old_logprob_s);
      r->set_ref_s(stats.ref_s);
      r->set_update_s(stats.update_s);
      r->set_tokens(stats.tokens);
    } else if (m.has_save()) {
      const std::string& dir = m.save().dir();
      try {
        if (index == 0) {
          learner.SavePolicy(dir + "/policy", c.model.policy, c.model.policy);
          learner.SaveOptimizer(dir + "/learner");
        }
        std::filesystem::create_directories(dir + "/rng");
        torch::save(CpuRngState(), dir + "/rng/learner-" + std::to_string(index) + ".pt");
      } catch (const std::exception& e) {
        out.mutable_saved()->set_error(e.what());
      }
      out.mutable_saved();
    } else {
      comm::AbortJob(job.Who(), std::string("unexpected '") + comm::BodyName(m) + "' from the coordinator");
    }
    Reply(job, out);
  }
}

}  // namespace prlm::learner
