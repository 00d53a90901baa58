// prlm bench reward: the reward server over loopback with dynamic batching
// against the same server with max_batch_size=1, at several client counts,
// and where a request's time goes (queueing, preparation, tokenization,
// forward).
#include <cstdio>

#include "bench/bench_drive.h"
#include "cli/args.h"
#include "cli/commands.h"
#include "cli/compute_options.h"
#include "cli/config_flags.h"
#include "common/net/rpc_server.h"
#include "common/reward/reward_client.h"
#include "common/util/check.h"
#include "pipeline/init_model.h"
#include "pipeline/synthetic.h"
#include "reward_server/reward_service.h"
#include "reward_server/scorer_setup.h"

namespace prlm::cli {
namespace {

// GRPO-shaped groups from synthetic LaMP-4 users: G completions per query,
// each "<think>...</think><answer>...</answer>" with a different answer.
std::vector<std::vector<proto::ScoreItem>> MakeGroups(int count, int group_size) {
  data::SyntheticOptions o;
  o.users = std::max(10, count / 2 + 1);
  const auto splits = data::MakeSynthetic(o);
  std::vector<std::vector<proto::ScoreItem>> groups;
  const auto& examples = splits.train.examples;
  for (int g = 0; g < count; ++g) {
    const auto& ex = examples[static_cast<size_t>(g) % examples.size()];
    std::vector<proto::ScoreItem> group;
    for (int s = 0; s < group_size; ++s) {
      proto::ScoreItem item;
      item.set_query(ex.input);
      item.set_gold(*ex.output);
      item.set_user_id(ex.user_id);
      const std::string& other = *examples[(static_cast<size_t>(g) + 1 + s) % examples.size()].output;
      item.set_completion("<think>The user's past titles are short and keep their own wording; sample " +
                          std::to_string(s) + ".</think>\n<answer>" + (s % 2 ? *ex.output : other) + "</answer>");
      group.push_back(std::move(item));
    }
    groups.push_back(std::move(group));
  }
  return groups;
}

struct Measured {
  RunStats run;
  double queue_us = 0, prepare_us = 0, tokenize_us = 0, model_us = 0, items_per_batch = 0;
};

Measured Measure(const Transport& transport, RewardConfig rc, int64_t max_batch_size, int clients, double seconds,
                 const std::vector<std::vector<proto::ScoreItem>>& groups) {
  rc.max_batch_size = max_batch_size;
  auto scorer = reward::MakeRewardScorer(rc);
  net::RpcServer server(transport.server);
  reward::RegisterRewardHandlers(server, *scorer);
  std::thread serving([&] { server.Run(); });
  reward::RewardClient client(net::Endpoint{"127.0.0.1", server.port()}, transport.client);
  // Warm up (first forward allocates), then measure.
  client.Score(groups[0]);
  const auto before = scorer->Counters();
  Measured m;
  m.run = Drive(clients, seconds, [&](int c, uint64_t i) {
    const auto reply = client.Score(groups[(static_cast<size_t>(c) * 7919 + i) % groups.size()], 60000);
    PRLM_REQUIRE(reply.status() == proto::ScoreReply::OK, "bench reward: " << reply.error());
  });
  const auto after = scorer->Counters();
  server.Stop();
  serving.join();
  const double requests = double(after.at("ok") - before.at("ok"));
  const auto per_request = [&](const char* key) { return double(after.at(key) - before.at(key)) / requests; };
  m.queue_us = per_request("queue_us");
  m.prepare_us = per_request("prepare_us");
  m.tokenize_us = per_request("tokenize_us");
  const double batches = double(after.at("batches") - before.at("batches"));
  if (batches > 0) {  // none without a reward model (w_pers 0)
    m.model_us = double(after.at("model_us") - before.at("model_us")) / batches;
    m.items_per_batch = double(after.at("batched_items") - before.at("batched_items")) / batches;
  }
  return m;
}

}  // namespace

int BenchReward(int argc, char** argv) {
  Args args("bench reward",
            "Sequences/s and p50/p99 request latency of the reward server over loopback, with dynamic\n"
            "batching (--max-batch-size) and with max_batch_size=1, at several client counts. Each request\n"
            "is one GRPO group of --group completions. Also the mean time per request in the queue, in\n"
            "preparation (answer extraction, ROUGE, format), in tokenization, and per batch forward. Clients\n"
            "prove the job secret as in a training job; a third row per client count adds TLS (net.tls).");
  TrainConfig config;
  ConfigFlags flags(&config);
  MapRewardFlags(flags, args);
  args.Option("clients", "LIST", "1,8,32", "concurrent clients")
      .Option("seconds", "S", "5", "seconds per measurement")
      .Option("group", "G", "4", "completions per request")
      .Option("net-threads", "N", "2", "server network worker threads (parsing, ROUGE, tokenization)")
      .Option("preset", "NAME", "small", "BERT preset of the random reward model made when --model is not given")
      .Option("workdir", "DIR", "out/bench", "where that model is written");
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  const std::vector<int> clients = args.GetPositiveInts("clients");
  flags.Apply(args, [&] { config.reward.Validate(); });
  if (config.reward.model.empty() && config.reward.w_pers != 0) {
    pipeline::InitModelSpec spec;
    spec.arch = "bert";
    spec.preset = args.Get("preset");
    spec.overrides = {"num_labels=1"};
    spec.out_dir = args.Get("workdir") + "/reward-bert-" + spec.preset;
    pipeline::InitModelDir(spec);
    config.reward.model = spec.out_dir;
  }
  SetUpCompute(args);
  const int group = args.GetInt("group");
  PRLM_REQUIRE(group >= 1, "--group must be positive");
  const auto groups = MakeGroups(256, group);
  const double seconds = args.GetDouble("seconds");
  const int64_t max_batch = config.reward.max_batch_size;
  std::printf("reward server, %d completions per request, reward model %s, %s network threads, %s compute "
              "threads (0: all cores)\n\n",
              group, config.reward.model.c_str(), args.Get("net-threads").c_str(), args.Get("threads").c_str());
  std::printf("| clients | batching | seq/s | p50 ms | p99 ms | items/batch | queue ms | prepare ms | tokenize ms "
              "| forward ms/batch |\n|---|---|---|---|---|---|---|---|---|---|\n");
  // The job secret's handshake as in a training job; the TLS row adds net.tls.
  const std::vector<Transport> transports = BenchTransports(args.GetInt("net-threads"));
  const Transport &secret = transports[1], &tls = transports[2];
  const std::string batching = "max " + std::to_string(max_batch);
  for (int c : clients) {
    const Measured on = Measure(secret, config.reward, max_batch, c, seconds, groups);
    const Measured off = Measure(secret, config.reward, 1, c, seconds, groups);
    const Measured on_tls = Measure(tls, config.reward, max_batch, c, seconds, groups);
    for (const auto& [name, m] : {std::pair{batching, &on}, std::pair{std::string("max 1"), &off},
                                  std::pair{batching + ", TLS", &on_tls}})
      std::printf("| %d | %s | %.1f | %.2f | %.2f | %.1f | %.2f | %.3f | %.3f | %.2f |\n", c, name.c_str(),
                  m->run.qps * group, m->run.p50_us / 1000, m->run.p99_us / 1000, m->items_per_batch,
                  m->queue_us / 1000, m->prepare_us / 1000, m->tokenize_us / 1000, m->model_us / 1000);
    std::printf("| %d | batching ratio | %.2fx | %.2fx | %.2fx | | | | | |\n", c, on.run.qps / off.run.qps,
                on.run.p50_us / off.run.p50_us, on.run.p99_us / off.run.p99_us);
    std::printf("| %d | TLS ratio | %.2fx | %.2fx | %.2fx | | | | | |\n", c, on_tls.run.qps / on.run.qps,
                on_tls.run.p50_us / on.run.p50_us, on_tls.run.p99_us / on.run.p99_us);
  }
  return 0;
}

}  // namespace prlm::cli
