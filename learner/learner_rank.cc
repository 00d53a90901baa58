#include "learner/learner_rank.h"

#include <chrono>
#include <filesystem>
#include <thread>

#include "common/comm/job_messages.h"
#include "common/comm/mpi_job.h"
#include "common/comm/preemption.h"
#include "common/comm/tensor_collectives.h"
#include "common/comm/weight_relay.h"
#include "common/model/compute_setup.h"
#include "common/model/pretrained.h"
#include "common/objective/objective.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "common/util/clock.h"
#include "common/util/logging.h"
#include "common/util/rng.h"
#include "learner/policy_learner.h"

namespace prlm::learner {

namespace {

proto::JobMessage Await(const comm::TrainJob& job) { return comm::AwaitCoordinator(job, comm::kForever); }

void Reply(const comm::TrainJob& job, const proto::JobMessage& m) {
  if (!comm::SendMessage(m, 0, job.world, job.rank_timeout))
    comm::AbortJob(job.Who(), std::string("sending '") + comm::BodyName(m) + "' to the coordinator timed out");
}

// The replica as the run starts: the policy (or the checkpoint's), the
// reference when the objective needs one, and on resume the optimizer, the
// adapters and this learner's RNG.
std::unique_ptr<PolicyLearner> LoadLearner(const comm::TrainJob& job, const proto::Start& start) {
  const config::TrainConfig& c = job.config;
  const std::string& resume = start.resume_dir();
  const model::ComputeDevice where = model::ResolveDevice(c.model.device, c.model.dtype);
  const bool lora = c.lora.enabled();
  const bool full_resume = !resume.empty() && !lora;
  // bf16 trains in mixed precision: fp32 weights, bf16 matrix products.
  auto policy = model::LoadCausalLM(full_resume ? resume + "/policy" : c.model.policy, where.device, torch::kFloat);
  // Full fine-tuning keeps a frozen copy as the KL reference; LoRA disables its adapters instead.
  model::CausalLM reference{nullptr};
  if (objective::MakeObjective(c)->learner_needs().reference_logprobs && !lora)
    reference = model::LoadCausalLM(c.model.policy, where.device, torch::kFloat);
  if (job.me.index == 0)
    spdlog::info("learner: model.dtype {}: {}", c.model.dtype,
                 where.dtype == torch::kBFloat16
                     ? std::string("mixed precision (bf16 matrix products over fp32 weights, gradients and optimizer "
                                   "state; rollout workers generate with bf16 weights)") +
                           (where.device.is_cpu() && !model::CpuHasNativeBf16()
                                ? "; this CPU has no AVX512-BF16 or AMX: bf16 is emulated, slower than fp32"
                                : "")
                     : std::string("fp32 throughout"));
  // LoRA's initial A matrices come from the run's seed, so every replica
  // starts identical (torch seeds its own generator at random per process);
  // then each learner draws its dropout masks from a stream of its own.
  const uint64_t seed = static_cast<uint64_t>(c.trainer.seed);
  torch::manual_seed(seed);
  auto learner = std::make_unique<PolicyLearner>(policy, reference, c, start.total_steps(), where.dtype);
  torch::manual_seed(util::SplitMix64::Mix(seed ^ (0x9E37ull + static_cast<uint64_t>(job.me.index))));
  if (resume.empty()) return learner;
  if (lora) model::LoadLoraWeights(*learner->policy(), resume + "/policy/adapter");
  learner->LoadOptimizer(resume + "/learner");
  const std::string rng_path = resume + "/rng/learner-" + std::to_string(job.me.index) + ".pt";
  PRLM_REQUIRE(std::filesystem::exists(rng_path),
               rng_path << " is missing: the checkpoint was written by fewer learners than layout.learners");
  torch::Tensor rng;
  try {
    torch::load(rng, rng_path);
    SetCpuRngState(rng);
  } catch (const c10::Error& e) {
    PRLM_THROW(rng_path << ": not a torch CPU generator state: " << e.what_without_backtrace());
  }
  return learner;
}

// The checkpoint's learner part: learner 0 the policy and optimizer, every
// learner its RNG. An error goes back to the coordinator, which names it.
// The file of an older weight version that steps out at a checkpoint need
// (a preemption at grpo.max_staleness >= 1).
std::string RolloutWeightsPath(const std::string& dir, int64_t version) {
  return dir + "/rollout_weights/v" + std::to_string(version) + ".bin";
}

// Learner 0 on resume: the older versions the checkpoint kept, into the
// store before the current one (a resumed step out is generated with them).
void PublishKeptVersions(const proto::Start& start, uint64_t version_bytes, comm::WeightStore* store) {
  for (const int64_t v : start.rollout_versions()) {
    const std::string path = RolloutWeightsPath(start.resume_dir(), v);
    std::string bytes = util::ReadFile(path);
    PRLM_REQUIRE(bytes.size() == version_bytes, path << " has " << bytes.size() << " bytes; this policy's trainable "
                                                     << "tensors take " << version_bytes
                                                     << " (a different model or LoRA setting than the run's)");
    store->PublishBytes(v, std::move(bytes));
    spdlog::info("weights v{} from the checkpoint: a step still out at the save is generated with them", v);
  }
}

proto::CheckpointWritten SaveLearner(const comm::TrainJob& job, PolicyLearner& learner,
                                     const proto::SaveCheckpoint& save, const comm::WeightStore& published) {
  const std::string& dir = save.dir();
  proto::CheckpointWritten out;
  try {
    if (job.me.index == 0) {
      learner.SavePolicy(dir + "/policy", job.config.model.policy, job.config.model.policy);
      learner.SaveOptimizer(dir + "/learner");
      for (const int64_t v : save.rollout_versions()) {
        std::filesystem::create_directories(dir + "/rollout_weights");
        util::WriteFileAtomic(RolloutWeightsPath(dir, v), published.Bytes(v));
      }
    }
    std::filesystem::create_directories(dir + "/rng");
    torch::save(CpuRngState(), dir + "/rng/learner-" + std::to_string(job.me.index) + ".pt");
  } catch (const std::exception& e) {
    out.set_error(e.what());
  }
  return out;
}

proto::LearnReport ReportOf(const PolicyLearner& learner, int64_t step, const StepStats& stats) {
  proto::LearnReport r;
  r.set_step(step);
  r.set_weight_version(learner.version());
  *r.mutable_sums() = stats.sums;
  r.set_grad_norm(stats.grad_norm);
  r.set_lr(stats.lr);
  r.set_old_logprob_s(stats.old_logprob_s);
  r.set_ref_s(stats.ref_s);
  r.set_update_s(stats.update_s);
  *r.mutable_rollout_mismatch() = stats.rollout_mismatch;
  r.set_tokens(stats.tokens);
  return r;
}

}  // namespace

int RunLearnerRank(const comm::TrainJob& job, std::unique_ptr<net::RpcServer> elastic_server) {
  // 1. Start: what to load.
  proto::JobMessage m = Await(job);
  if (m.has_stop()) return 0;
  PRLM_CHECK_MSG(m.has_start(), "learner expected 'start', got '" << comm::BodyName(m) << "'");
  const auto learner = LoadLearner(job, m.start());
  spdlog::info("learner {}: {} trainable tensors, weight version {}, {} optimizer steps done", job.me.index,
               learner->TrainableParameters().size(), learner->version(), learner->optimizer_steps());

  // 2. The starting weights reach every rollout worker.
  comm::TensorCollectives grads(job.learners, "learners");
  std::unique_ptr<comm::TensorCollectives> sync;
  const bool elastic = job.config.rollout.elastic;
  if (job.me.index == 0 && !elastic) sync = std::make_unique<comm::TensorCollectives>(job.weight_sync, "weight sync");
  // The elastic tier fetches weights from learner 0's store (the relay's head).
  // It keeps every version a posted step may still be generated with.
  comm::WeightStore published(comm::WeightStore::kDefaultChunkBytes,
                              static_cast<size_t>(std::max<int64_t>(2, job.config.grpo.max_staleness + 1)));
  std::thread serving;
  if (elastic_server) {
    comm::ServeWeights(*elastic_server, published, std::chrono::seconds(30));
    serving = std::thread([&] { elastic_server->Run(); });
  }
  struct StopServing {
    net::RpcServer* server;
    std::thread* thread;
    ~StopServing() {
      if (!thread->joinable()) return;
      server->Stop();
      thread->join();
    }
  } stop_serving{elastic_server.get(), &serving};
  // The rollout workers hold the weights in the compute dtype (bf16 under
  // mixed precision): learner 0 sends them in it, from copies it refreshes.
  const auto trained = learner->TrainableParameters();
  const torch::ScalarType sent_dtype = learner->compute_dtype();
  std::vector<torch::Tensor> weights = trained;
  if (sent_dtype != torch::kFloat)
    for (auto& w : weights) w = w.detach().to(sent_dtype);
  const auto refresh_sent = [&] {
    torch::NoGradGuard no_grad;
    if (sent_dtype != torch::kFloat)
      for (size_t i = 0; i < weights.size(); ++i) weights[i].copy_(trained[i]);
  };
  int64_t version = learner->version();
  uint64_t version_bytes = 0;
  for (const auto& w : weights) version_bytes += static_cast<uint64_t>(w.numel() * w.element_size());
  if (sync) {
    // A resume whose checkpoint kept the older version a step out needs
    // (grpo.max_staleness = 1, a preemption): the workers get it first and
    // generate that step with it; the checkpoint's weights follow when they
    // join the broadcast the coordinator's next `sync` asks for.
    PRLM_REQUIRE(m.start().rollout_versions_size() <= 1,
                 m.start().resume_dir() << ": the checkpoint kept " << m.start().rollout_versions_size()
                                        << " older weight versions; the MPI tier runs one step ahead at most");
    if (m.start().rollout_versions_size() == 1) {
      PublishKeptVersions(m.start(), version_bytes, &published);
      int64_t older = m.start().rollout_versions(0);
      std::vector<torch::Tensor> kept;
      for (const auto& w : weights) kept.push_back(torch::empty_like(w));
      published.CopyInto(older, kept);
      comm::BroadcastWeights(*sync, &older, kept, job.CollectiveTimeout());
    }
    comm::BroadcastWeights(*sync, &version, weights, job.CollectiveTimeout());
  }
  if (elastic_server) {
    PublishKeptVersions(m.start(), version_bytes, &published);
    published.Publish(version, weights);
  }

  // 3. Serve the coordinator: update (then learner 0 broadcasts), or save.
  const AllReduceFn all_reduce = [&](const std::vector<torch::Tensor>& t) {
    grads.AllReduceSum(t, job.CollectiveTimeout());
  };
  while (true) {
    m = Await(job);
    if (m.has_stop()) {
      if (elastic_server) spdlog::info("weights served to the relay: {} bytes", published.bytes_served());
      return 0;
    }
    proto::JobMessage out;
    if (m.has_learn()) {
      const int64_t step = m.learn().step();
      util::SetLogStep(step + 1);
      if (m.learn().restart()) {
        const bool from_base = job.config.rest.init == config::RestInit::kBase;
        learner->Restart(from_base ? job.config.model.policy : "");
        spdlog::info("step {}: fine-tuning restarts{}", step + 1, from_base ? " from model.policy" : "");
      }
      // A preemption at grpo.max_staleness = 1 (MPI tier): the step out was
      // to be generated with the weights before this update; the checkpoint
      // keeps them (SaveLearner).
      if (m.learn().keep_weights_before() && job.me.index == 0) {
        refresh_sent();
        published.Publish(learner->version(), weights);
      }
      const StepStats stats =
          job.config.simulate.enabled
              ? learner->SimulatedStep(m.learn(), all_reduce, job.config.simulate.learn_tokens_per_s)
              : learner->Step(m.learn(), all_reduce);
      *out.mutable_report() = ReportOf(*learner, step, stats);
      if (sync && m.learn().sync_weights()) {
        const auto t0 = util::Clock::now();
        version = learner->version();
        refresh_sent();
        comm::BroadcastWeights(*sync, &version, weights, job.CollectiveTimeout());
        out.mutable_report()->set_sync_s(util::Seconds(t0));
        spdlog::debug("step {}: weights v{} sent: {} bytes in {} buckets", step, version, sync->last_bytes(),
                      sync->last_buckets());
      } else if (elastic_server && m.learn().sync_weights()) {
        const auto t0 = util::Clock::now();
        version = learner->version();
        refresh_sent();
        published.Publish(version, weights);
        out.mutable_report()->set_sync_s(util::Seconds(t0));
        spdlog::debug("step {}: weights v{} published; {} bytes served so far", step, version,
                      published.bytes_served());
      }
    } else if (m.has_save()) {
      *out.mutable_saved() = SaveLearner(job, *learner, m.save(), published);
    } else {
      comm::AbortJob(job.Who(), std::string("unexpected '") + comm::BodyName(m) + "' from the coordinator");
    }
    Reply(job, out);
  }
}

}  // namespace prlm::learner
