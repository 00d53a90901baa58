// prlm bench reward: the reward server over loopback with dynamic batching
// against the same server with max_batch_size=1, at several client counts,
// and where a request's time goes (queueing, preparation, tokenization,
// forward). prlm bench lore: LoRe's component against the BT one, its
// online adaptation under scoring load, and its table's memory.
#include <cstdio>
#include <set>
#include <malloc.h>

#include "bench/bench_drive.h"
#include "options/args.h"
#include "bench/bench.h"
#include "options/compute_options.h"
#include "options/config_flags.h"
#include "common/net/rpc_server.h"
#include "common/reward/lore.h"
#include "common/reward/reward_client.h"
#include "common/reward/reward_model.h"
#include "common/util/check.h"
#include "pipeline/init_model.h"
#include "pipeline/lore_training.h"
#include "pipeline/synthetic.h"
#include "reward_server/reward_service.h"
#include "reward_server/scorer_setup.h"

namespace prlm::bench {
namespace {

// GRPO-shaped groups from synthetic LaMP-4 users: G completions per query,
// each "<think>...</think><answer>...</answer>" with a different answer.
std::vector<std::vector<proto::ScoreItem>> MakeGroups(int count, int group_size) {
  pipeline::SyntheticOptions o;
  o.users = std::max(10, count / 2 + 1);
  const auto splits = pipeline::MakeSynthetic(o);
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

Measured Measure(const Transport& transport, config::RewardConfig rc, int64_t max_batch_size, int clients,
                 double seconds, const std::vector<std::vector<proto::ScoreItem>>& groups) {
  rc.max_batch_size = max_batch_size;
  auto scorer = reward_server::MakeRewardScorer(rc);
  net::RpcServer server(transport.server);
  reward_server::RegisterRewardHandlers(server, *scorer);
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

// A random BERT reward model of `preset` under `workdir` (made once).
std::string BenchBert(const std::string& workdir, const std::string& preset) {
  pipeline::InitModelSpec spec;
  spec.arch = "bert";
  spec.preset = preset;
  spec.overrides = {"num_labels=1"};
  spec.out_dir = workdir + "/reward-bert-" + preset;
  pipeline::InitModelDir(spec);
  return spec.out_dir;
}

// Heap bytes in use (glibc's count: unlike the resident size, memory freed
// earlier and reused does not hide an allocation).
double HeapBytesInUse() { return static_cast<double>(mallinfo2().uordblks); }

double Percentile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<size_t>(q * static_cast<double>(v.size())))];
}

}  // namespace

int BenchLore(int argc, char** argv) {
  options::Args args(
      "bench lore",
      "LoRe on the reward server over loopback (job secret as in training): scoring sequences/s and\n"
      "p50/p99 with the LoRe personalization component against the BT reward model on the same BERT;\n"
      "AdaptUser latency p50/p99 while --clients clients score, against the same adaptations on an idle\n"
      "server; and the heap memory a table of --users users at --basis columns adds.");
  args.Option("clients", "N", "32", "concurrent scoring clients")
      .Option("seconds", "S", "5", "seconds per throughput measurement")
      .Option("group", "G", "4", "completions per scoring request")
      .Option("basis", "B", "16", "LoRe basis columns")
      .Option("users", "N", "100000", "users in the memory measurement")
      .Option("adaptations", "N", "40", "AdaptUser requests per latency measurement")
      .Option("pairs", "K", "8", "preference pairs per AdaptUser request")
      .Option("net-threads", "N", "4", "server network worker threads")
      .Option("preset", "NAME", "small", "BERT preset of the random embedder")
      .Option("workdir", "DIR", "out/bench", "where the embedder and the LoRe model are written");
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  options::SetUpCompute(args);
  const int clients = args.GetInt("clients"), group = args.GetInt("group");
  const int64_t basis = args.GetInt("basis");
  PRLM_REQUIRE(clients >= 1 && group >= 1 && basis >= 1 && args.GetInt("users") >= 1 && args.GetInt("pairs") >= 1 &&
                   args.GetInt("adaptations") >= 1,
               "bench lore: every count must be positive");
  const std::string bert = BenchBert(args.Get("workdir"), args.Get("preset"));
  const auto groups = MakeGroups(256, group);
  // 1. A LoRe model over the same BERT whose table holds every user the groups name.
  std::vector<std::string> users;
  {
    std::set<std::string> seen;
    for (const auto& g : groups)
      if (seen.insert(g[0].user_id()).second) users.push_back(g[0].user_id());
  }
  const int64_t hidden = reward::RewardModel::Load(bert, 64)->encoder()->config().hidden_size;
  reward::LoreOptions lo;
  lo.basis = basis;
  lo.iterations = 5;
  lo.prune_below = 0;
  std::vector<int64_t> pair_user;
  for (size_t u = 0; u < users.size(); ++u) pair_user.insert(pair_user.end(), 4, static_cast<int64_t>(u));
  const auto lore =
      pipeline::TrainLore({torch::randn({static_cast<int64_t>(pair_user.size()), hidden}), pair_user}, users, lo);
  const std::string lore_dir = args.Get("workdir") + "/lore-" + args.Get("preset");
  lore.Save(lore_dir, bert, "pooler", lo, {});
  config::RewardConfig bt;
  bt.model = bert;
  config::RewardConfig with_lore = bt;
  with_lore.personalization = config::PersonalizationKind::kLore;
  with_lore.lore = lore_dir;
  const std::vector<Transport> transports = BenchTransports(args.GetInt("net-threads"));
  const Transport& secret = transports[1];  // the job secret, as in training
  const double seconds = args.GetDouble("seconds");
  std::printf(
      "reward server, %d clients, %d completions per request, BERT %s (hidden %lld), LoRe basis %lld, "
      "%zu users in the table\n\n",
      clients, group, bert.c_str(), static_cast<long long>(hidden), static_cast<long long>(basis), users.size());
  // 2. Scoring throughput: LoRe against BT, same BERT, same batching.
  const Measured m_bt = Measure(secret, bt, bt.max_batch_size, clients, seconds, groups);
  const Measured m_lore = Measure(secret, with_lore, bt.max_batch_size, clients, seconds, groups);
  std::printf("| personalization | seq/s | p50 ms | p99 ms | forward ms/batch |\n|---|---|---|---|---|\n");
  for (const auto& [name, m] : {std::pair{"bt", &m_bt}, std::pair{"lore", &m_lore}})
    std::printf("| %s | %.1f | %.2f | %.2f | %.2f |\n", name, m->run.qps * group, m->run.p50_us / 1000,
                m->run.p99_us / 1000, m->model_us / 1000);
  std::printf("| lore / bt | %.2fx | %.2fx | %.2fx | |\n\n", m_lore.run.qps / m_bt.run.qps,
              m_lore.run.p50_us / m_bt.run.p50_us, m_lore.run.p99_us / m_bt.run.p99_us);
  // 3. AdaptUser latency, idle and while every client scores.
  auto scorer = reward_server::MakeRewardScorer(with_lore);
  net::RpcServer server(secret.server);
  reward_server::RegisterRewardHandlers(server, *scorer);
  std::thread serving([&] { server.Run(); });
  reward::RewardClient client(net::Endpoint{"127.0.0.1", server.port()}, secret.client);
  const auto adapt_latencies = [&](const std::string& prefix) {
    std::vector<double> ms;
    for (int a = 0; a < args.GetInt("adaptations"); ++a) {
      proto::AdaptUserRequest request;
      request.set_user_id(prefix + std::to_string(a));
      for (int k = 0; k < args.GetInt("pairs"); ++k) {
        const auto& g = groups[static_cast<size_t>(a * 13 + k) % groups.size()];
        auto* p = request.add_pairs();
        p->set_prompt(g[0].query());
        p->set_chosen(g[0].gold());
        p->set_rejected(g[1 % g.size()].completion());
      }
      const auto t0 = std::chrono::steady_clock::now();
      const auto reply = client.AdaptUser(request);
      PRLM_REQUIRE(reply.status() == proto::UserWeightsReply::OK, "bench lore: " << reply.error());
      ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    return ms;
  };
  client.Score(groups[0]);  // warm up
  const auto idle = adapt_latencies("idle-");
  std::atomic<bool> adapting{true};
  std::vector<double> loaded;
  RunStats load;
  std::thread scoring([&] {
    load = Drive(clients, 0.1, [&](int c, uint64_t i) {
      reward::RewardClient mine(net::Endpoint{"127.0.0.1", server.port()}, secret.client);
      while (adapting) {
        const auto r = mine.Score(groups[(static_cast<size_t>(c) * 7919 + i) % groups.size()], 60000);
        PRLM_REQUIRE(r.status() == proto::ScoreReply::OK, "bench lore: " << r.error());
      }
    });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  loaded = adapt_latencies("loaded-");
  adapting = false;
  scoring.join();
  server.Stop();
  serving.join();
  std::printf("| AdaptUser (%s pairs) | p50 ms | p99 ms |\n|---|---|---|\n", args.Get("pairs").c_str());
  std::printf("| idle server | %.2f | %.2f |\n", Percentile(idle, 0.5), Percentile(idle, 0.99));
  std::printf("| %d clients scoring | %.2f | %.2f |\n", clients, Percentile(loaded, 0.5), Percentile(loaded, 0.99));
  std::printf("| loaded / idle | %.2fx | %.2fx |\n\n", Percentile(loaded, 0.5) / Percentile(idle, 0.5),
              Percentile(loaded, 0.99) / Percentile(idle, 0.99));
  // 4. Memory of a table of --users users.
  const double before = HeapBytesInUse();
  {
    reward::LoreModel table = lore.Clone();
    const auto logits = torch::randn({basis});
    for (int64_t u = 0; u < args.GetInt("users"); ++u) table.SetUser("user-" + std::to_string(u), logits);
    const double after = HeapBytesInUse();
    std::printf("| users | basis | heap MiB added | bytes per user | of which logits |\n|---|---|---|---|---|\n");
    std::printf("| %lld | %lld | %.1f | %.0f | %lld |\n", static_cast<long long>(args.GetInt("users")),
                static_cast<long long>(basis), (after - before) / (1 << 20),
                (after - before) / static_cast<double>(args.GetInt("users")), static_cast<long long>(basis * 4));
  }
  return 0;
}

int BenchReward(int argc, char** argv) {
  options::Args args("bench reward",
                     "Sequences/s and p50/p99 request latency of the reward server over loopback, with dynamic\n"
                     "batching (--max-batch-size) and with max_batch_size=1, at several client counts. Each request\n"
                     "is one GRPO group of --group completions. Also the mean time per request in the queue, in\n"
                     "preparation (answer extraction, ROUGE, format), in tokenization, and per batch forward. Clients\n"
                     "prove the job secret as in a training job; a third row per client count adds TLS (net.tls).");
  config::TrainConfig config;
  options::ConfigFlags flags(&config);
  options::MapRewardFlags(flags, args);
  args.Option("clients", "LIST", "1,8,32", "concurrent clients")
      .Option("seconds", "S", "5", "seconds per measurement")
      .Option("group", "G", "4", "completions per request")
      .Option("net-threads", "N", "2", "server network worker threads (parsing, ROUGE, tokenization)")
      .Option("preset", "NAME", "small", "BERT preset of the random reward model made when --model is not given")
      .Option("workdir", "DIR", "out/bench", "where that model is written");
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  const std::vector<int> clients = args.GetPositiveInts("clients");
  flags.Apply(args, [&] { config.reward.Validate(); });
  if (config.reward.model.empty() && config.reward.w_pers != 0)
    config.reward.model = BenchBert(args.Get("workdir"), args.Get("preset"));
  options::SetUpCompute(args);
  const int group = args.GetInt("group");
  PRLM_REQUIRE(group >= 1, "--group must be positive");
  const auto groups = MakeGroups(256, group);
  const double seconds = args.GetDouble("seconds");
  const int64_t max_batch = config.reward.max_batch_size;
  std::printf(
      "reward server, %d completions per request, reward model %s, %s network threads, %s compute "
      "threads (0: all cores)\n\n",
      group, config.reward.model.c_str(), args.Get("net-threads").c_str(), args.Get("threads").c_str());
  std::printf(
      "| clients | batching | seq/s | p50 ms | p99 ms | items/batch | queue ms | prepare ms | tokenize ms "
      "| forward ms/batch |\n|---|---|---|---|---|---|---|---|---|---|\n");
  // The job secret's handshake as in a training job; the TLS row adds net.tls.
  const std::vector<Transport> transports = BenchTransports(args.GetInt("net-threads"));
  const Transport &secret = transports[1], &tls = transports[2];
  const std::string batching = "max " + std::to_string(max_batch);
  for (int c : clients) {
    const Measured on = Measure(secret, config.reward, max_batch, c, seconds, groups);
    const Measured off = Measure(secret, config.reward, 1, c, seconds, groups);
    const Measured on_tls = Measure(tls, config.reward, max_batch, c, seconds, groups);
    for (const auto& [name, m] :
         {std::pair{batching, &on}, std::pair{std::string("max 1"), &off}, std::pair{batching + ", TLS", &on_tls}})
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

}  // namespace prlm::bench
