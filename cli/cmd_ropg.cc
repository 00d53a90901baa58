// ROPG's commands, each one MPI job (run alone or under mpirun):
//   collect-feedback  the utilities of each first-stage candidate (every rank
//                     answers a share of the questions, rank 0 writes the
//                     file); pipeline/retriever_feedback.h
//   train-retriever   the dense retriever from that feedback, data-parallel
//                     ranks; pipeline/retriever_trainer.h
// and RSPG's (pipeline/retriever_selection.h):
//   collect-selection the utilities of each candidate retriever's answer
//   train-selector    the retriever selector, by the same listwise trainer
#include <cstdio>
#include <functional>
#include <limits>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/compute_options.h"
#include "cli/config_flags.h"
#include "cli/policy_options.h"
#include "cli/retriever_options.h"
#include "cli/server_options.h"
#include "common/retrieval/index_refresh.h"
#include "common/reward/reward_client.h"
#include "common/comm/job_messages.h"
#include "common/comm/mpi_job.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "common/model/pretrained.h"
#include "common/text/tokenizer.h"
#include "pipeline/rank_share.h"
#include "pipeline/retriever_feedback.h"
#include "pipeline/retriever_selection.h"
#include "pipeline/retriever_trainer.h"
#include "reward_server/scorer_setup.h"

namespace prlm::cli {

namespace {

std::vector<std::string> FeedbackLines(const std::vector<pipeline::FeedbackRecord>& records) {
  std::vector<std::string> lines;
  for (const auto& r : records) lines.push_back(pipeline::FeedbackLine(r));
  return lines;
}

// Progress lines about every tenth of this rank's questions.
pipeline::FeedbackProgress ProgressLines(const std::string& who, size_t mine) {
  const size_t every = std::max<size_t>(1, mine / 10);
  return [who, every](size_t done, size_t total) {
    if (done % every == 0 || done == total) std::fprintf(stderr, "%s: %zu/%zu questions\n", who.c_str(), done, total);
  };
}

// What collect-feedback and collect-selection share: the options, then (on
// every rank alike) the scorer, data, policy and answering options.
struct FeedbackJob {
  config::TrainConfig config;
  std::unique_ptr<reward_server::RewardScorer> scorer;  // in process, without --reward-server
  std::unique_ptr<reward::RewardClient> client;         // with it
  pipeline::ScoreFn score;
  pipeline::FeedbackOptions options;
  data::Dataset dataset;
  LoadedPolicy policy;
};

void AddFeedbackOptions(Args& args, ConfigFlags& flags) {
  args.Option("model", "DIR", "", "the frozen policy (Qwen2 / Qwen3 / Llama directory)", true)
      .Option("data", "DIR", "", "LaMP-format directory", true)
      .Option("split", "NAME", "train", "train, dev or test")
      .Option("task", "NAME", "", "task, when no outputs file names it")
      .Option("out", "FILE", "", "feedback.jsonl to write", true)
      .Option("utility", "NAME", "rouge1",
              "the scorer output that is the utility: rouge1, rouge2, rougeL,\n"
              "accuracy, similarity (with --w-sim), format, personalization")
      .Option("max-new-tokens", "N", "64", "completion limit")
      .Option("temperature", "T", "0", "0: greedy answers; else sample at T (seeded per question and candidate)")
      .Option("seed", "S", "1", "sampling seed")
      .Option("reward-server", "HOST:PORT", "",
              "score with this reward server (the job's reward tier) instead of\n"
              "in process; --secret-file as for the retrieval tier")
      .Option("offset", "N", "0", "skip the split's first N questions (e.g. those another stage trained on)")
      .Option("limit", "N", "0", "then only the first N questions (0: all)");
  flags.Map(args, "max-prompt-tokens", "grpo.max_prompt_tokens")
      .Map(args, "open-think", "grpo.open_think")
      .Map(args, "reward-model", "reward.model")
      .Map(args, "w-sim", "reward.w_sim");
}

void LoadFeedbackJob(const Args& args, ConfigFlags& flags, FeedbackJob* job) {
  flags.Apply(args, [&] {
    if (!args.Has("reward-model")) job->config.reward.w_pers = 0;
    if (!args.Has("reward-server")) job->scorer = reward_server::MakeRewardScorer(job->config.reward);
  });
  if (args.Has("reward-server")) {
    job->client =
        std::make_unique<reward::RewardClient>(net::ParseEndpoint(args.Get("reward-server")), ClientOptionsFrom(args));
    job->score = [client = job->client.get()](proto::ScoreRequest request) {
      return client->Score({request.items().begin(), request.items().end()});
    };
  } else {
    job->score = [scorer = job->scorer.get()](proto::ScoreRequest request) {
      return scorer->ScoreNow(std::move(request));
    };
  }
  pipeline::FeedbackOptions& o = job->options;
  o.utility = args.Get("utility");
  o.prompt.max_prompt_tokens = static_cast<int>(job->config.grpo.max_prompt_tokens);
  o.prompt.open_think = job->config.grpo.open_think;
  const data::TaskSpec* task = args.Get("task").empty() ? nullptr : &data::TaskByName(args.Get("task"));
  job->dataset = data::LoadLampSplit(args.Get("data"), args.Get("split"), task);
  auto& examples = job->dataset.examples;
  const size_t offset = static_cast<size_t>(std::max<int64_t>(0, args.GetInt("offset")));
  PRLM_REQUIRE(offset < examples.size(), "--offset " << offset << ": the " << args.Get("split") << " split has only "
                                                     << examples.size() << " questions");
  examples.erase(examples.begin(), examples.begin() + static_cast<std::ptrdiff_t>(offset));
  const size_t limit = static_cast<size_t>(std::max<int64_t>(0, args.GetInt("limit")));
  if (limit > 0 && limit < examples.size()) examples.resize(limit);
  job->policy = LoadPolicy(args.Get("model"), args);
  o.prompt.chat = job->policy.chat;
  o.sampling.greedy = args.GetDouble("temperature") == 0;
  o.sampling.temperature = o.sampling.greedy ? 1.0 : args.GetDouble("temperature");
  PRLM_REQUIRE(o.sampling.temperature > 0, "--temperature must be 0 (greedy) or positive");
  o.seed = static_cast<uint64_t>(args.GetInt("seed"));
  o.sampling.max_new_tokens = args.GetInt("max-new-tokens");
  AddStopTokens(o.sampling, *job->policy.tokenizer, job->policy.model->config());
}

}  // namespace

int RunCollectFeedback(int argc, char** argv) {
  Args args("collect-feedback",
            "ROPG's feedback: for each question, the first-stage retriever's top-K profile items are the\n"
            "candidates; the frozen policy answers once per candidate with only that item in its prompt\n"
            "(greedy unless --temperature), and the reward tier's --utility output scores each answer\n"
            "against the gold. Run it under mpirun -np N to split the questions among N ranks; rank 0\n"
            "writes --out (JSON lines, one record per question, in the split's order;\n"
            "pipeline/retriever_feedback.h).");
  FeedbackJob job;
  ConfigFlags flags(&job.config);
  AddFeedbackOptions(args, flags);
  AddRetrieverOptions(args, "the first stage: bm25, dense, dense_hnsw, recency or random",
                      "candidates per question (N)", "20");
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  return pipeline::RunAsMpiRank(&argc, &argv, "collect-feedback", [&](const comm::MpiJob& mpi, const std::string& who) {
    // 1. Options, data, policy, scorer and retriever: every rank alike.
    LoadFeedbackJob(args, flags, &job);
    pipeline::FeedbackOptions& o = job.options;
    o.first_stage = args.Get("retriever");
    o.candidates = args.GetInt("k");
    auto retriever = OpenRetriever(args, {&job.dataset}, {o.first_stage});
    // 2. This rank's share of the questions.
    const auto mine = pipeline::RankShare(mpi, job.dataset.examples.size());
    const auto records = pipeline::CollectFeedback(job.policy.model, *job.policy.tokenizer, *retriever, job.dataset,
                                                   mine, job.score, o, ProgressLines(who, mine.size()));
    // 3. Rank 0 collects every share and writes them in the split's order.
    std::string all;
    if (!pipeline::GatherInListOrder(FeedbackLines(records), job.dataset.examples.size(), who, &all)) return 0;
    util::WriteFileAtomic(args.Get("out"), all);
    std::printf("wrote %s: %zu questions (%s top-%d candidates, utility %s) from %d rank%s\n", args.Get("out").c_str(),
                job.dataset.examples.size(), o.first_stage.c_str(), o.candidates, o.utility.c_str(), mpi.size(),
                mpi.size() == 1 ? "" : "s");
    return 0;
  });
}

int RunCollectSelection(int argc, char** argv) {
  Args args("collect-selection",
            "RSPG's data: for each question, the frozen policy answers once per candidate retriever with\n"
            "that retriever's top --k items (zero-shot for none), and the reward tier's --utility output\n"
            "scores each answer. Same file format as collect-feedback, the candidates being the\n"
            "retrievers; train-selector learns from it. Under mpirun -np N the ranks split the questions.");
  FeedbackJob job;
  ConfigFlags flags(&job.config);
  AddFeedbackOptions(args, flags);
  args.Option("candidates", "SPEC", "",
              "the retrievers: none, recency, bm25, random, NAME=ENCODER_DIR (dense),\n"
              "comma separated, e.g. none,recency,bm25,dense=bert,ropg-kd=ropg_kd",
              true)
      .Option("k", "K", "1", "profile items per prompt");
  AddClientSecretOptions(args);  // with --reward-server
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  return pipeline::RunAsMpiRank(
      &argc, &argv, "collect-selection", [&](const comm::MpiJob& mpi, const std::string& who) {
        // 1. Options, data, policy, scorer and the candidate retrievers: every rank alike.
        LoadFeedbackJob(args, flags, &job);
        pipeline::FeedbackOptions& o = job.options;
        o.first_stage = "retrievers:" + args.Get("candidates");
        pipeline::CandidateRetrievers retrievers(pipeline::ParseSelectionCandidates(args.Get("candidates")),
                                                 {&job.dataset});
        // 2. This rank's share of the questions.
        const auto mine = pipeline::RankShare(mpi, job.dataset.examples.size());
        const auto records =
            pipeline::CollectSelectionFeedback(job.policy.model, *job.policy.tokenizer, retrievers, args.GetInt("k"),
                                               job.dataset, mine, job.score, o, ProgressLines(who, mine.size()));
        // 3. Rank 0 collects every share and writes them in the split's order.
        std::string all;
        if (!pipeline::GatherInListOrder(FeedbackLines(records), job.dataset.examples.size(), who, &all)) return 0;
        util::WriteFileAtomic(args.Get("out"), all);
        std::printf("wrote %s: %zu questions, %zu retrievers each (utility %s) from %d rank%s\n",
                    args.Get("out").c_str(), job.dataset.examples.size(), retrievers.candidates().size(),
                    o.utility.c_str(), mpi.size(), mpi.size() == 1 ? "" : "s");
        return 0;
      });
}

namespace {

// The listwise trainer's options, shared by train-retriever and train-selector.
void AddListwiseTrainOptions(Args& args, const char* max_length_help) {
  args.Option("feedback", "FILE", "", "the feedback file (JSON lines) to learn from", true)
      .Option("out", "DIR", "", "output directory", true)
      .Option("mode", "kd|rl", "kd",
              "kd: KL(softmax(u/T) || softmax(s/T)); rl: d ~ softmax(s/T), -log p(d) (u(d) - u(d_1))")
      .Option("temperature", "T", "0.1", "divides scores and, for kd, utilities")
      .Option("lr", "LR", "1e-4", "AdamW peak learning rate (warm-up, then linear decay)")
      .Option("weight-decay", "W", "0.01", "AdamW weight decay")
      .Option("batch-size", "N", "16", "questions per step over all ranks")
      .Option("epochs", "N", "2", "passes over the training questions")
      .Option("max-length", "N", "256", max_length_help)
      .Option("heldout-fraction", "F", "0.1", "share of users whose questions are held out for NDCG")
      .Option("ndcg-k", "K", "5", "cut-off of the held-out NDCG")
      .Option("eval-every", "N", "20", "steps between held-out measurements (0: first and last only)")
      .Option("save-every", "N", "0", "steps between checkpoints (0: none)")
      .Option("seed", "S", "42", "held-out split, data order, RL draws (and a new head's weights)")
      .Flag("resume", "continue from the newest checkpoint in --out");
  AddComputeOptions(args);
}

pipeline::RetrieverTrainOptions ListwiseTrainOptionsFrom(const Args& args, const std::string& command) {
  pipeline::RetrieverTrainOptions o;
  o.command = command;
  o.mode = args.Get("mode");
  o.temperature = args.GetDouble("temperature");
  o.lr = args.GetDouble("lr");
  o.weight_decay = args.GetDouble("weight-decay");
  o.batch_size = args.GetInt("batch-size");
  o.epochs = args.GetInt("epochs");
  o.max_length = args.GetInt("max-length");
  o.heldout_fraction = args.GetDouble("heldout-fraction");
  o.ndcg_k = args.GetInt("ndcg-k");
  o.eval_every = args.GetInt("eval-every");
  o.save_every = args.GetInt("save-every");
  o.seed = static_cast<uint64_t>(args.GetInt("seed"));
  o.resume = args.GetFlag("resume");
  o.out_dir = args.Get("out");
  return o;
}

void PrintTrainReport(const pipeline::RetrieverTrainReport& r, const pipeline::RetrieverTrainOptions& o,
                      const char* what, const char* first) {
  std::printf(
      "wrote %s: %s %s after %lld steps on %zu questions (%zu held out): ndcg@%d %.4f -> %.4f, "
      "top-1 utility %.4f -> %.4f (%s %.4f, best fixed %.4f, oracle %.4f) in %.0f s\n",
      o.out_dir.c_str(), o.mode.c_str(), what, static_cast<long long>(r.steps), r.train_questions, r.heldout_questions,
      o.ndcg_k, r.before.ndcg, r.after.ndcg, r.before.top1_utility, r.after.top1_utility, first,
      r.after.first_stage_top1_utility, r.after.best_fixed_top1_utility, r.after.oracle_top1_utility, r.seconds);
}

}  // namespace

int RunTrainRetriever(int argc, char** argv) {
  Args args("train-retriever",
            "ROPG: train a BERT bi-encoder (mean pooling, cosine) from collect-feedback's utilities, by\n"
            "knowledge distillation (kd: KL(softmax(u/T) || softmax(s/T))) or RL (rl: d ~ softmax(s/T),\n"
            "-log p(d) (u(d) - u(d_1))). Under mpirun -np N the ranks split every batch and sum their\n"
            "gradients. --out becomes a BERT directory that build-index, serve-retrieval and eval take as\n"
            "--encoder; beside it metrics.jsonl, train_report.json and checkpoints/ (--resume continues).");
  args.Option("init", "DIR", "", "the BERT encoder to start from (Hugging Face layout)", true)
      .Option("refresh-server", "HOST:PORT[,...]", "",
              "retrieval shard servers to refresh with the weights being\n"
              "trained (they must see --out's path)")
      .Option("refresh-every", "N", "0", "steps between those refreshes (0: only after the last step)");
  AddClientSecretOptions(args);  // with --refresh-server
  AddListwiseTrainOptions(args, "tokens per query or item");
  if (!args.Parse(argc, argv)) return 0;
  return pipeline::RunAsMpiRank(&argc, &argv, "train-retriever", [&](const comm::MpiJob& mpi, const std::string& who) {
    auto o = ListwiseTrainOptionsFrom(args, "train-retriever");
    if (args.Has("refresh-server")) {
      // The tier follows training: each refresh re-embeds every shard with the current weights.
      const auto servers = net::ParseEndpoints(args.Get("refresh-server"));
      const auto client = ClientOptionsFrom(args);
      PRLM_REQUIRE(args.GetInt("refresh-every") >= 0, "--refresh-every must not be negative");
      o.refresh_every =
          args.GetInt("refresh-every") > 0 ? args.GetInt("refresh-every") : std::numeric_limits<int>::max();
      o.refresh = [servers, client](const std::string& dir, int64_t) {
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
    SetUpCompute(args);
    const auto feedback = pipeline::ReadFeedback(args.Get("feedback"));
    const std::string checkpoint = o.resume ? pipeline::NewestRetrieverCheckpoint(o.out_dir) : "";
    const std::string encoder_dir = checkpoint.empty() ? args.Get("init") : checkpoint;
    auto encoder = model::LoadBert(encoder_dir);
    const auto tokenizer = text::Tokenizer::FromFile(encoder_dir + "/tokenizer.json");
    const auto group = pipeline::DataParallelGroup(mpi, "retriever learners");
    const auto report = pipeline::TrainRetriever(
        encoder, encoder_dir, *tokenizer, feedback, o, group.get(),
        [](const std::string& line) { std::fprintf(stderr, "train-retriever: %s\n", line.c_str()); });
    if (mpi.rank() == 0) PrintTrainReport(report, o, "retriever", "first stage");
    return 0;
  });
}

int RunTrainSelector(int argc, char** argv) {
  Args args("train-selector",
            "RSPG: train a retriever selector (a BERT cross-encoder with one output) from collect-selection's\n"
            "utilities, by the same listwise KD (or RL) as train-retriever, over the retrievers of each\n"
            "question. --variant pre reads the retriever's name, the input and its items; post also reads\n"
            "the answer the policy gave with them. Under mpirun -np N the ranks split every batch. --out is\n"
            "the selector directory that eval --retriever rspg-pre / rspg-post takes as --selector.");
  args.Option("init", "DIR", "", "a BERT directory to start from (a new one-output head is added)", true)
      .Option("variant", "pre|post", "pre", "pre: choose before generating; post: choose among the answers");
  AddListwiseTrainOptions(args, "tokens per candidate text (retriever, [answer,] input, items)");
  if (!args.Parse(argc, argv)) return 0;
  return pipeline::RunAsMpiRank(&argc, &argv, "train-selector", [&](const comm::MpiJob& mpi, const std::string& who) {
    const auto o = ListwiseTrainOptionsFrom(args, "train-selector");
    SetUpCompute(args);
    const auto feedback = pipeline::ReadFeedback(args.Get("feedback"));
    // The candidates are the first record's retrievers; every record must have them, in that order.
    std::vector<std::string> names;
    for (const auto& c : feedback.front().candidates) names.push_back(c.id);
    for (const auto& r : feedback) {
      std::vector<std::string> these;
      for (const auto& c : r.candidates) these.push_back(c.id);
      PRLM_REQUIRE(these == names, args.Get("feedback") << ": question " << r.id << " has other candidates than the "
                                                        << "first record's (a selector needs the same retrievers "
                                                        << "for every question; is this collect-selection's file?)");
    }
    const std::string checkpoint = o.resume ? pipeline::NewestRetrieverCheckpoint(o.out_dir) : "";
    auto selector = checkpoint.empty() ? pipeline::RetrieverSelector::Create(args.Get("init"), args.Get("variant"),
                                                                             names, o.max_length, o.seed)
                                       : pipeline::RetrieverSelector::Load(checkpoint);
    PRLM_REQUIRE(selector->variant() == args.Get("variant"),
                 checkpoint << " is a " << selector->variant() << " selector, not " << args.Get("variant"));
    const auto group = pipeline::DataParallelGroup(mpi, "selector learners");
    const auto report = pipeline::TrainListwise(*selector, feedback, o, group.get(), [](const std::string& line) {
      std::fprintf(stderr, "train-selector: %s\n", line.c_str());
    });
    if (mpi.rank() == 0)
      PrintTrainReport(report, o, ("rspg-" + selector->variant() + " selector").c_str(),
                       ("always " + names.front()).c_str());
    return 0;
  });
}

}  // namespace prlm::cli
