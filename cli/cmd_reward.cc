// prlm make-rm-pairs / train-rm / score-rm / serve-reward / score.

#include <cstdio>

#include "cli/commands.h"
#include "common/data/dataset.h"
#include "common/reward/reward_model.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "options/args.h"
#include "options/compute_options.h"
#include "options/config_flags.h"
#include "options/policy_options.h"
#include "options/retriever_options.h"
#include "options/server_options.h"
#include "pipeline/rm_pairs.h"
#include "pipeline/rm_trainer.h"
#include "pipeline/score_file.h"
#include "reward_server/reward_service.h"
#include "reward_server/scorer_setup.h"

namespace prlm::cli {

int RunMakeRmPairs(int argc, char** argv) {
  options::Args args("make-rm-pairs",
                     "PrLM's reward-model pairs: the policy answers each training query once with the user's\n"
                     "retrieved top-k profile (chosen) and once without a profile (rejected); answers are read\n"
                     "after </think>; pairs with an empty side or two equal answers are dropped.\n"
                     "Profiles come from --retrieval-server, else --index, else an index built here over --data.");
  pipeline::RmPairOptions o;
  args.Option("policy", "DIR", "", "policy directory (Qwen2, Qwen3 or Llama)", true)
      .Option("data", "DIR", "", "LaMP-format directory", true)
      .Option("split", "NAME", "train", "which split's questions to use")
      .Option("task", "NAME", "", "task, when no outputs file names it")
      .Bind("batch-size", "N", &o.batch_size, "queries per generation batch")
      .Bind("limit", "N", &o.limit, "use only the first N queries (0: all)")
      .Option("out", "FILE", "", "pairs, as JSON lines", true);
  config::TrainConfig config;
  options::ConfigFlags flags(&config);
  flags.Map(args, "max-prompt-tokens", "grpo.max_prompt_tokens").Map(args, "open-think", "grpo.open_think");
  options::AddRetrieverOptions(args);
  options::AddComputeOptions(args);
  options::AddSamplingOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  flags.Apply(args);
  auto sampling = options::SamplingFromArgs(args);
  o.retriever = args.Get("retriever");
  o.k = args.GetInt("k");
  o.max_prompt_tokens = static_cast<int>(config.grpo.max_prompt_tokens);
  o.open_think = config.grpo.open_think;
  const data::Dataset dataset =
      data::LoadLampSplit(args.Get("data"), args.Get("split"), data::TaskOrNull(args.Get("task")));
  auto retriever = options::OpenRetriever(args, {&dataset}, {args.Get("retriever")});
  auto policy = options::LoadPolicy(args.Get("policy"), args);
  o.chat = policy.chat;
  std::fprintf(stderr, "make-rm-pairs: prompts use %s\n", policy.chat_origin.c_str());
  options::AddStopTokens(sampling, *policy.tokenizer, policy.model->config());
  pipeline::RmPairStats stats;
  const auto pairs = pipeline::MakeRmPairs(
      dataset, *retriever, *policy.tokenizer,
      pipeline::SampledCompletions(policy.model, *policy.tokenizer, sampling, args.GetUint64("seed")), o, &stats,
      [](const pipeline::RmPairStats& s, size_t total) {
        std::fprintf(stderr, "make-rm-pairs: %zu/%zu queries, %zu pairs\n", s.queries, total, s.pairs);
      });
  pipeline::WriteRmPairs(args.Get("out"), pairs);
  std::printf("make-rm-pairs: wrote %s: %s\n", args.Get("out").c_str(), stats.Summary().c_str());
  return 0;
}

int RunTrainRm(int argc, char** argv) {
  options::Args args("train-rm",
                     "Train the contrastive personalization reward model: BERT + a linear head on the pooled\n"
                     "output over (query, answer) pairs, Bradley-Terry loss -log sigmoid(s_chosen - s_rejected).\n"
                     "Reports held-out pairwise accuracy; saves in Hugging Face layout with training_report.json.");
  pipeline::RmTrainOptions o;
  args.Option("init", "DIR", "", "any BERT checkpoint in Hugging Face layout (with tokenizer.json)", true)
      .Option("pairs", "FILE", "", "pairs, as JSON lines (make-rm-pairs)", true)
      .Option("out", "DIR", "", "where to save the trained model", true)
      .Bind("lr", "X", &o.lr, "AdamW learning rate (linear decay to 0, no warm-up)")
      .Bind("batch-size", "N", &o.batch_size, "pairs per step")
      .Bind("epochs", "N", &o.epochs, "passes over the training pairs")
      .Bind("weight-decay", "X", &o.weight_decay, "AdamW weight decay")
      .Bind("max-grad-norm", "X", &o.max_grad_norm, "gradient norm clip (0: off)")
      .Bind("eval-fraction", "X", &o.eval_fraction, "share of pairs held out")
      .Bind("seed", "S", &o.seed, "split, shuffle, dropout and new-head seed")
      .Option("max-length", "N", "512", "tokens per (query, answer) pair")
      .Bind("log-every", "N", &o.log_every, "steps between progress lines");
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  const auto pairs = pipeline::ReadRmPairs(args.Get("pairs"));
  options::SetUpCompute(args);
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
  options::Args args(
      "score-rm",
      "Score (query, answer) pairs with a reward model. Prints one JSON object per pair:\n"
      "{\"query\", \"answer\", \"score\", \"sigmoid\"}. Input lines are {\"query\": ..., \"answer\": ...}.");
  args.Option("model", "DIR", "", "reward model directory", true)
      .Option("query", "TEXT", "", "one query")
      .Option("answer", "TEXT", "", "its answer")
      .Option("input", "FILE", "", "JSON lines with query and answer")
      .Option("max-length", "N", "512", "tokens per pair")
      .Option("batch-size", "N", "64", "pairs per forward");
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  std::vector<std::pair<std::string, std::string>> pairs;
  if (args.Has("query") || args.Has("answer")) {
    PRLM_REQUIRE(args.Has("query") && args.Has("answer"), "give both --query and --answer");
    pairs.emplace_back(args.Get("query"), args.Get("answer"));
  }
  if (args.Has("input"))
    for (auto& p : pipeline::ReadQueryAnswerPairs(args.Get("input"))) pairs.push_back(std::move(p));
  PRLM_REQUIRE(!pairs.empty(), "give --query and --answer, or --input FILE");
  options::SetUpCompute(args);
  auto rm = reward::RewardModel::Load(args.Get("model"), args.GetInt("max-length"));
  PRLM_REQUIRE(!rm->new_head(), args.Get("model") << " has no reward head (classifier); train one with train-rm");
  pipeline::WriteRmScores(*rm, pairs, args.GetInt("batch-size"), stdout);
  return 0;
}

int RunServeReward(int argc, char** argv) {
  options::Args args("serve-reward",
                     "Serve reward scoring over TCP (length-prefixed protobuf frames): reward = w_acc * (ROUGE-1 +\n"
                     "ROUGE-2 + ROUGE-L F of the extracted answer vs gold) + w_sim * (ROUGE-1 + ROUGE-L F) / 2 +\n"
                     "w_fmt * format + w_pers *\n"
                     "sigmoid(reward model). Model work is batched across clients. SIGTERM / SIGINT drain and exit 0.");
  config::TrainConfig config;
  options::ConfigFlags flags(&config);
  options::MapRewardFlags(flags, args);
  options::AddServerOptions(args, "net-threads", "network worker threads (parsing, ROUGE, tokenization)");
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  options::SetUpCompute(args);
  std::unique_ptr<reward_server::RewardScorer> scorer;
  flags.Apply(args, [&] { scorer = reward_server::MakeRewardScorer(config.reward); });
  const net::ServerOptions o = options::ServerOptionsFrom(args, "net-threads");
  net::RpcServer server(o);
  reward_server::RegisterRewardHandlers(server, *scorer);
  std::string weights;
  const proto::RewardInfo info = scorer->Info();
  for (const auto& w : info.weights()) weights += " " + w.name() + "=" + std::to_string(w.value());
  std::printf("serve-reward: weights%s; max batch %lld, max queue delay %lld us; listening on %s:%u%s\n",
              weights.c_str(), static_cast<long long>(config.reward.max_batch_size),
              static_cast<long long>(config.reward.max_queue_delay_us), o.host.c_str(), server.port(),
              o.tls.enabled() ? " (TLS 1.3)" : "");
  std::fflush(stdout);
  server.Run();
  scorer->Stop();
  std::printf("serve-reward: drained and stopped;%s\n", server.CountersLine().c_str());
  return 0;
}

int RunScore(int argc, char** argv) {
  options::Args args("score",
                     "Score completions with a reward server. Input: JSON lines with query, completion, gold (or\n"
                     "output) and user_id. Prints, per record, {\"line\", \"reward\", \"components\", \"answer\"} or\n"
                     "{\"line\", \"status\", \"error\"}; exits 1 if any record was not scored.");
  args.Option("server", "HOST:PORT", "", "reward server", true)
      .Option("input", "FILE", "", "records, as JSON lines", true)
      .Option("batch-size", "N", "16", "records per request")
      .Option("timeout-ms", "MS", "30000", "deadline per request (0: the server's default)");
  options::AddClientSecretOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  const auto r =
      pipeline::ScoreFile(args.Get("input"), net::ParseEndpoint(args.Get("server")), options::ClientOptionsFrom(args),
                          args.GetInt("batch-size"), static_cast<uint32_t>(args.GetInt("timeout-ms")), stdout);
  if (r.failed) std::fprintf(stderr, "score: %zu of %zu records were not scored\n", r.failed, r.records);
  return r.failed ? 1 : 0;
}

}  // namespace prlm::cli
