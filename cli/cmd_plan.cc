// prlm plan: whether a training job fits, before anything starts
// (coordinator/memory_plan.h). Exit status 0: it fits; 3: it does not (the
// refusal names each GPU or host and its ranks' parts); 1: a bad config,
// model directory or option.
#include <cstdio>

#include "cli/commands.h"
#include "common/config/train_config.h"
#include "common/util/check.h"
#include "common/util/process_memory.h"
#include "coordinator/memory_plan.h"
#include "options/args.h"

namespace prlm::cli {

int RunPlan(int argc, char** argv) {
  options::Args args("plan",
                     "The memory of every rank of a training job from its config and its models' config.json\n"
                     "(parameters, weights, gradients, optimizer, activations, KV cache, reward model, index),\n"
                     "where the layout puts each rank, and whether it fits. KEY=VALUE overrides as for train.\n"
                     "Exit status 0: it fits; 3: it does not; 1: bad input.");
  args.Option("config", "FILE", "", "YAML config, as for prlm train")
      .Option("ranks", "N", "0", "the world size when the config has no layout (default: 5)")
      .Option("nodes", "N", "1", "hosts the ranks are spread over, in blocks (as mpirun and Slurm place them)")
      .Option("gpus-per-node", "N", "0", "GPUs per host; rollout workers and learners take them in turn (0: CPU)")
      .Option("gpu-memory", "SIZE", "", "each GPU's memory, e.g. 80GiB (checked when given)")
      .Option("host-memory", "SIZE", "", "each host's memory (default: this machine's; none: not checked)")
      .Option("rank-overhead", "SIZE", "", "a rank's runtime before models (default: measured, docs/plan.md)")
      .Flag("json", "print the plan as one JSON object")
      .Flag("brief", "print only where the ranks go and whether each place fits (for launchers)")
      .Positional("KEY=VALUE", "config overrides");
  if (!args.Parse(argc, argv)) return 0;
  coordinator::MemoryPlan plan;
  try {
    const config::TrainConfig config = config::TrainConfig::Load(args.Get("config"), args.positional());
    coordinator::PlanTarget t;
    t.ranks = args.GetInt64("ranks");
    t.nodes = args.GetInt64("nodes");
    t.gpus_per_node = args.GetInt64("gpus-per-node");
    PRLM_REQUIRE(t.gpus_per_node >= 0, "--gpus-per-node must be >= 0");
    PRLM_REQUIRE(args.Get("gpu-memory").empty() || t.gpus_per_node > 0, "--gpu-memory needs --gpus-per-node");
    if (!args.Get("gpu-memory").empty()) t.gpu_bytes = coordinator::ParseByteSize(args.Get("gpu-memory"));
    const std::string host = args.Get("host-memory");
    t.host_bytes = host.empty() ? util::HostMemoryBytes() : host == "none" ? 0 : coordinator::ParseByteSize(host);
    if (!args.Get("rank-overhead").empty()) t.rank_overhead = coordinator::ParseByteSize(args.Get("rank-overhead"));
    plan = coordinator::PlanMemory(config, t);
  } catch (const util::Error& e) {
    std::fprintf(stderr, "prlm plan: %s\n", e.what());
    return 1;
  }
  if (args.GetFlag("json"))
    std::printf("%s\n", coordinator::PlanJson(plan).c_str());
  else
    std::printf("%s", coordinator::FormatPlan(plan, args.GetFlag("brief")).c_str());
  if (plan.refusal.empty()) return 0;
  std::fprintf(stderr, "prlm plan: the job does not fit:\n%s", plan.refusal.c_str());
  return 3;
}

}  // namespace prlm::cli
