// prlm make-rm-pairs / train-rm / score-rm / serve-reward / score.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <filesystem>
#include <sstream>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/compute_options.h"
#include "cli/config_flags.h"
#include "cli/policy_options.h"
#include "cli/retriever_options.h"
#include "cli/server_options.h"
#include "common/data/dataset.h"
#include "common/retrieval/retrieval_client.h"
#include "common/reward/reward_client.h"
#include "common/reward/reward_model.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "common/util/json_lines.h"
#include "pipeline/rm_pairs.h"
#include "pipeline/rm_trainer.h"
#include "pipeline/score_file.h"
#include "retrieval_shards/local_retriever.h"
#include "reward_server/reward_service.h"
#include "reward_server/scorer_setup.h"

namespace prlm::cli {
namespace {

namespace fs = std::filesystem;

std::string JsonLine(const nlohmann::ordered_json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace

int RunMakeRmPairs(int argc, char** argv) {
  Args args("make-rm-pairs",
            "PrLM's reward-model pairs: the policy answers each training query once with the user's\n"
            "retrieved top-k profile (chosen) and once without a profile (rejected); answers are read\n"
            "after </think>; pairs with an empty side or two equal answers are dropped.\n"
            "Profiles come from --retrieval-server, else --index, else an index built here over --data.");
  args.Option("policy", "DIR", "", "policy directory (Qwen2, Qwen3 or Llama)", true)
      .Option("data", "DIR", "", "LaMP-format directory", true)
      .Option("split", "NAME", "train", "which split's questions to use")
      .Option("task", "NAME", "", "task, when no outputs file names it")
      .Option("batch-size", "N", "8", "queries per generation batch")
      .Option("limit", "N", "0", "use only the first N queries (0: all)")
      .Option("out", "FILE", "", "pairs, as JSON lines", true);
  config::TrainConfig config;
  ConfigFlags flags(&config);
  flags.Map(args, "max-prompt-tokens", "grpo.max_prompt_tokens").Map(args, "open-think", "grpo.open_think");
  AddRetrieverOptions(args);
  AddComputeOptions(args);
  AddSamplingOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  flags.Apply(args);
  auto sampling = SamplingFromArgs(args);
  pipeline::RmPairOptions o;
  o.retriever = args.Get("retriever");
  o.k = args.GetInt("k");
  o.max_prompt_tokens = static_cast<int>(config.grpo.max_prompt_tokens);
  o.open_think = config.grpo.open_think;
  o.batch_size = args.GetInt("batch-size");
  PRLM_REQUIRE(args.GetInt("limit") >= 0, "--limit must be >= 0");
  o.limit = static_cast<size_t>(args.GetInt("limit"));
  const data::TaskSpec* task = args.Get("task").empty() ? nullptr : &data::TaskByName(args.Get("task"));
  const data::Dataset dataset = data::LoadLampSplit(args.Get("data"), args.Get("split"), task);
  auto retriever = OpenRetriever(args, {&dataset}, {args.Get("retriever")});
  auto policy = LoadPolicy(args.Get("policy"), args);
  o.chat = policy.chat;
  std::fprintf(stderr, "make-rm-pairs: prompts use %s\n", policy.chat_origin.c_str());
  AddStopTokens(sampling, *policy.tokenizer, policy.model->config());
  const uint64_t seed = static_cast<uint64_t>(args.GetInt("seed"));
  uint64_t prompts_done = 0;
  const pipeline::CompletionFn complete = [&](const std::vector<std::vector<int32_t>>& prompts) {
    std::vector<model::GenerationRequest> requests;
    for (const auto& p : prompts) requests.push_back({p, {model::SampleSeed(seed, prompts_done++, 0)}});
    const auto out = model::Generate(policy.model, requests, sampling);
    std::vector<std::string> texts;
    for (const auto& r : out) texts.push_back(policy.tokenizer->Decode(r[0].tokens, /*skip_special_tokens=*/true));
    return texts;
  };
  pipeline::RmPairStats stats;
  const auto pairs = pipeline::MakeRmPairs(
      dataset, *retriever, *policy.tokenizer, complete, o, &stats, [](const pipeline::RmPairStats& s, size_t total) {
        std::fprintf(stderr, "make-rm-pairs: %zu/%zu queries, %zu pairs\n", s.queries, total, s.pairs);
      });
  pipeline::WriteRmPairs(args.Get("out"), pairs);
  std::printf(
      "make-rm-pairs: wrote %zu pairs to %s from %zu queries (dropped: %zu empty chosen, %zu empty "
      "rejected, %zu both empty, %zu identical; skipped: %zu retrieval errors, %zu over the prompt limit)\n",
      stats.pairs, args.Get("out").c_str(), stats.queries, stats.empty_chosen, stats.empty_rejected, stats.both_empty,
      stats.identical, stats.retrieval_errors, stats.over_budget);
  return 0;
}

int RunTrainRm(int argc, char** argv) {
  Args args("train-rm",
            "Train the contrastive personalization reward model: BERT + a linear head on the pooled\n"
            "output over (query, answer) pairs, Bradley-Terry loss -log sigmoid(s_chosen - s_rejected).\n"
            "Reports held-out pairwise accuracy; saves in Hugging Face layout with training_report.json.");
  args.Option("init", "DIR", "", "any BERT checkpoint in Hugging Face layout (with tokenizer.json)", true)
      .Option("pairs", "FILE", "", "pairs, as JSON lines (make-rm-pairs)", true)
      .Option("out", "DIR", "", "where to save the trained model", true)
      .Option("lr", "X", "5e-5", "AdamW learning rate (linear decay to 0, no warm-up)")
      .Option("batch-size", "N", "64", "pairs per step")
      .Option("epochs", "N", "3", "passes over the training pairs")
      .Option("weight-decay", "X", "0", "AdamW weight decay")
      .Option("max-grad-norm", "X", "1.0", "gradient norm clip (0: off)")
      .Option("eval-fraction", "X", "0.1", "share of pairs held out")
      .Option("seed", "S", "42", "split, shuffle, dropout and new-head seed")
      .Option("max-length", "N", "512", "tokens per (query, answer) pair")
      .Option("log-every", "N", "10", "steps between progress lines");
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  pipeline::RmTrainOptions o;
  o.lr = args.GetDouble("lr");
  o.batch_size = args.GetInt("batch-size");
  o.epochs = args.GetInt("epochs");
  o.weight_decay = args.GetDouble("weight-decay");
  o.max_grad_norm = args.GetDouble("max-grad-norm");
  o.eval_fraction = args.GetDouble("eval-fraction");
  o.seed = static_cast<uint64_t>(args.GetInt("seed"));
  o.log_every = args.GetInt("log-every");
  const auto pairs = pipeline::ReadRmPairs(args.Get("pairs"));
  SetUpCompute(args);
  auto rm = reward::RewardModel::Load(args.Get("init"), args.GetInt("max-length"), o.seed);
  if (rm->new_head())
    std::fprintf(stderr, "train-rm: %s has no classifier; a new head was initialised\n", args.Get("init").c_str());
  const auto report = pipeline::TrainRewardModel(
      *rm, pairs, o, [](const std::string& line) { std::fprintf(stderr, "train-rm: %s\n", line.c_str()); });
  rm->Save(args.Get("out"));
  util::WriteFileAtomic(args.Get("out") + "/training_report.json", report.ToJson());
  std::printf(
      "train-rm: %zu train / %zu held-out pairs, %d steps in %.1f s; held-out accuracy %.4f -> %.4f, "
      "train loss %.4f -> %.4f; saved %s\n",
      report.train_pairs, report.eval_pairs, report.steps, report.seconds, report.before.accuracy,
      report.after_epoch.back().accuracy, report.epoch_train_loss.front(), report.epoch_train_loss.back(),
      args.Get("out").c_str());
  return 0;
}

int RunScoreRm(int argc, char** argv) {
  Args args("score-rm",
            "Score (query, answer) pairs with a reward model. Prints one JSON object per pair:\n"
            "{\"query\", \"answer\", \"score\", \"sigmoid\"}. Input lines are {\"query\": ..., \"answer\": ...}.");
  args.Option("model", "DIR", "", "reward model directory", true)
      .Option("query", "TEXT", "", "one query")
      .Option("answer", "TEXT", "", "its answer")
      .Option("input", "FILE", "", "JSON lines with query and answer")
      .Option("max-length", "N", "512", "tokens per pair")
      .Option("batch-size", "N", "64", "pairs per forward");
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  std::vector<std::pair<std::string, std::string>> pairs;
  if (args.Has("query") || args.Has("answer")) {
    PRLM_REQUIRE(args.Has("query") && args.Has("answer"), "give both --query and --answer");
    pairs.emplace_back(args.Get("query"), args.Get("answer"));
  }
  if (args.Has("input"))
    util::ForEachJsonLine(args.Get("input"), [&](const nlohmann::json& j, const std::string& where, size_t) {
      pairs.emplace_back(util::JsonLineString(j, where, "query", true), util::JsonLineString(j, where, "answer", true));
    });
  PRLM_REQUIRE(!pairs.empty(), "give --query and --answer, or --input FILE");
  SetUpCompute(args);
  auto rm = reward::RewardModel::Load(args.Get("model"), args.GetInt("max-length"));
  PRLM_REQUIRE(!rm->new_head(), args.Get("model") << " has no reward head (classifier); train one with train-rm");
  const auto scores = rm->ScoreTexts(pairs, args.GetInt("batch-size"));
  for (size_t i = 0; i < pairs.size(); ++i) {
    nlohmann::ordered_json j;
    j["query"] = pairs[i].first;
    j["answer"] = pairs[i].second;
    j["score"] = scores[i];
    j["sigmoid"] = 1.0 / (1.0 + std::exp(-double(scores[i])));
    std::printf("%s\n", JsonLine(j).c_str());
  }
  return 0;
}

int RunServeReward(int argc, char** argv) {
  Args args("serve-reward",
            "Serve reward scoring over TCP (length-prefixed protobuf frames): reward = w_acc * (ROUGE-1 +\n"
            "ROUGE-2 + ROUGE-L F of the extracted answer vs gold) + w_sim * (ROUGE-1 + ROUGE-L F) / 2 +\n"
            "w_fmt * format + w_pers *\n"
            "sigmoid(reward model). Model work is batched across clients. SIGTERM / SIGINT drain and exit 0.");
  config::TrainConfig config;
  ConfigFlags flags(&config);
  MapRewardFlags(flags, args);
  AddServerOptions(args, "net-threads", "network worker threads (parsing, ROUGE, tokenization)");
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  SetUpCompute(args);
  std::unique_ptr<reward_server::RewardScorer> scorer;
  flags.Apply(args, [&] { scorer = reward_server::MakeRewardScorer(config.reward); });
  const net::ServerOptions o = ServerOptionsFrom(args, "net-threads");
  net::RpcServer server(o);
  reward_server::RegisterRewardHandlers(server, *scorer);
  std::string weights;
  const proto::RewardInfo info = scorer->Info();
  for (const auto& w : info.weights()) weights += " " + w.name() + "=" + std::to_string(w.value());
  std::printf("serve-reward: weights%s; max batch %lld, max queue delay %lld us; listening on %s:%u\n", weights.c_str(),
              static_cast<long long>(config.reward.max_batch_size),
              static_cast<long long>(config.reward.max_queue_delay_us), o.host.c_str(), server.port());
  std::fflush(stdout);
  server.Run();
  scorer->Stop();
  std::string counters;
  for (const auto& [k, v] : server.Counters()) counters += " " + k + "=" + std::to_string(v);
  std::printf("serve-reward: drained and stopped;%s\n", counters.c_str());
  return 0;
}

int RunScore(int argc, char** argv) {
  Args args("score",
            "Score completions with a reward server. Input: JSON lines with query, completion, gold (or\n"
            "output) and user_id. Prints, per record, {\"line\", \"reward\", \"components\", \"answer\"} or\n"
            "{\"line\", \"status\", \"error\"}; exits 1 if any record was not scored.");
  args.Option("server", "HOST:PORT", "", "reward server", true)
      .Option("input", "FILE", "", "records, as JSON lines", true)
      .Option("batch-size", "N", "16", "records per request")
      .Option("timeout-ms", "MS", "30000", "deadline per request (0: the server's default)");
  AddClientSecretOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  const auto r =
      pipeline::ScoreFile(args.Get("input"), net::ParseEndpoint(args.Get("server")), ClientOptionsFrom(args),
                          args.GetInt("batch-size"), static_cast<uint32_t>(args.GetInt("timeout-ms")), stdout);
  if (r.failed) std::fprintf(stderr, "score: %zu of %zu records were not scored\n", r.failed, r.records);
  return r.failed ? 1 : 0;
}

}  // namespace prlm::cli
