// ROPG's commands, each one MPI job (run alone or under mpirun):
//   collect-feedback  the utilities of each first-stage candidate (every rank
//                     answers a share of the questions, rank 0 writes the
//                     file); pipeline/retriever_feedback.h
//   train-retriever   the dense retriever from that feedback, data-parallel
//                     ranks; pipeline/retriever_trainer.h
#include <cstdio>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/compute_options.h"
#include "cli/config_flags.h"
#include "cli/policy_options.h"
#include "cli/retriever_options.h"
#include "common/comm/job_messages.h"
#include "common/comm/mpi_job.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "common/model/pretrained.h"
#include "common/text/tokenizer.h"
#include "pipeline/retriever_feedback.h"
#include "pipeline/retriever_trainer.h"
#include "reward_server/scorer_setup.h"

namespace prlm::cli {

int RunCollectFeedback(int argc, char** argv) {
  Args args("collect-feedback",
            "ROPG's feedback: for each question, the first-stage retriever's top-K profile items are the\n"
            "candidates; the frozen policy answers once per candidate with only that item in its prompt\n"
            "(greedy unless --temperature), and the reward tier's --utility output scores each answer\n"
            "against the gold. Run it under mpirun -np N to split the questions among N ranks; rank 0\n"
            "writes --out (JSON lines, one record per question, in the split's order;\n"
            "pipeline/retriever_feedback.h).");
  TrainConfig config;
  ConfigFlags flags(&config);
  args.Option("model", "DIR", "", "the frozen policy (Qwen2 / Qwen3 / Llama directory)", true)
      .Option("data", "DIR", "", "LaMP-format directory", true)
      .Option("split", "NAME", "train", "train, dev or test")
      .Option("task", "NAME", "", "task, when no outputs file names it")
      .Option("out", "FILE", "", "feedback.jsonl to write", true)
      .Option("utility", "NAME", "rouge1", "the scorer output that is the utility: rouge1, rouge2, rougeL,\n"
                                            "accuracy, similarity (with --w-sim), format, personalization")
      .Option("max-new-tokens", "N", "64", "completion limit")
      .Option("temperature", "T", "0", "0: greedy answers; else sample at T (seeded per question and candidate)")
      .Option("seed", "S", "1", "sampling seed")
      .Option("limit", "N", "0", "only the first N questions (0: all)");
  flags.Map(args, "max-prompt-tokens", "grpo.max_prompt_tokens")
      .Map(args, "open-think", "grpo.open_think")
      .Map(args, "reward-model", "reward.model")
      .Map(args, "w-sim", "reward.w_sim");
  AddRetrieverOptions(args, "the first stage: bm25, dense, dense_hnsw, recency or random",
                      "candidates per question (N)", "20");
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  comm::MpiJob mpi(&argc, &argv);
  const std::string who = "collect-feedback rank " + std::to_string(mpi.rank());
  try {
    // 1. Options, data, policy, scorer and retriever: every rank alike.
    std::unique_ptr<reward::RewardScorer> scorer;
    flags.Apply(args, [&] {
      if (!args.Has("reward-model")) config.reward.w_pers = 0;
      scorer = reward::MakeRewardScorer(config.reward);
    });
    pipeline::FeedbackOptions o;
    o.first_stage = args.Get("retriever");
    o.candidates = args.GetInt("k");
    o.utility = args.Get("utility");
    o.prompt.max_prompt_tokens = static_cast<int>(config.grpo.max_prompt_tokens);
    o.prompt.open_think = config.grpo.open_think;
    const data::TaskSpec* task = args.Get("task").empty() ? nullptr : &data::TaskByName(args.Get("task"));
    data::Dataset dataset = data::LoadLampSplit(args.Get("data"), args.Get("split"), task);
    const size_t limit = static_cast<size_t>(std::max<int64_t>(0, args.GetInt("limit")));
    if (limit > 0 && limit < dataset.examples.size()) dataset.examples.resize(limit);
    auto policy = LoadPolicy(args.Get("model"), args);
    o.prompt.chat = policy.chat;
    o.sampling.greedy = args.GetDouble("temperature") == 0;
    o.sampling.temperature = o.sampling.greedy ? 1.0 : args.GetDouble("temperature");
    PRLM_REQUIRE(o.sampling.temperature > 0, "--temperature must be 0 (greedy) or positive");
    o.seed = static_cast<uint64_t>(args.GetInt("seed"));
    o.sampling.max_new_tokens = args.GetInt("max-new-tokens");
    AddStopTokens(o.sampling, *policy.tokenizer, policy.model->config());
    auto retriever = OpenRetriever(args, {&dataset}, {o.first_stage});
    // 2. This rank's share: questions rank, rank + N, rank + 2N, ...
    std::vector<size_t> mine;
    for (size_t i = static_cast<size_t>(mpi.rank()); i < dataset.examples.size(); i += mpi.size()) mine.push_back(i);
    const size_t every = std::max<size_t>(1, mine.size() / 10);
    const auto records = pipeline::CollectFeedback(
        policy.model, *policy.tokenizer, *retriever, dataset, mine, *scorer, o, [&](size_t done, size_t total) {
          if (done % every == 0 || done == total)
            std::fprintf(stderr, "%s: %zu/%zu questions\n", who.c_str(), done, total);
        });
    std::string lines;
    for (const auto& r : records) lines += pipeline::FeedbackLine(r) + "\n";
    // 3. Rank 0 collects every share and writes them in the split's order.
    std::vector<std::string> shares;
    if (!comm::GatherStrings(MPI_COMM_WORLD, lines, 0, comm::kForever, &shares))
      comm::AbortJob(who, "gathering the feedback timed out");
    if (mpi.rank() != 0) return 0;
    std::vector<std::vector<std::string>> by_rank(shares.size());  // each share's lines (JSON has no raw newline)
    for (size_t r = 0; r < shares.size(); ++r)
      for (size_t at = 0, end; at < shares[r].size(); at = end + 1) {
        end = shares[r].find('\n', at);
        by_rank[r].push_back(shares[r].substr(at, end - at));
      }
    std::string all;
    for (size_t i = 0; i < dataset.examples.size(); ++i) {
      const auto& rank_lines = by_rank[i % by_rank.size()];
      PRLM_CHECK(i / by_rank.size() < rank_lines.size());
      all += rank_lines[i / by_rank.size()] + "\n";
    }
    WriteFileAtomic(args.Get("out"), all);
    std::printf("wrote %s: %zu questions (%s top-%d candidates, utility %s) from %d rank%s\n", args.Get("out").c_str(),
                dataset.examples.size(), o.first_stage.c_str(), o.candidates, o.utility.c_str(), mpi.size(),
                mpi.size() == 1 ? "" : "s");
    return 0;
  } catch (const std::exception& e) {
    if (mpi.size() == 1) throw;
    comm::AbortJob(who, e.what());
  }
}

int RunTrainRetriever(int argc, char** argv) {
  Args args("train-retriever",
            "ROPG: train a BERT bi-encoder (mean pooling, cosine) from collect-feedback's utilities, by\n"
            "knowledge distillation (kd: KL(softmax(u/T) || softmax(s/T))) or RL (rl: d ~ softmax(s/T),\n"
            "-log p(d) (u(d) - u(d_1))). Under mpirun -np N the ranks split every batch and sum their\n"
            "gradients. --out becomes a BERT directory that build-index, serve-retrieval and eval take as\n"
            "--encoder; beside it metrics.jsonl, train_report.json and checkpoints/ (--resume continues).");
  args.Option("feedback", "FILE", "", "feedback.jsonl from collect-feedback", true)
      .Option("init", "DIR", "", "the BERT encoder to start from (Hugging Face layout)", true)
      .Option("out", "DIR", "", "output directory", true)
      .Option("mode", "kd|rl", "kd", "ROPG's objective")
      .Option("temperature", "T", "0.1", "divides scores (cosines) and, for kd, utilities")
      .Option("lr", "LR", "1e-4", "AdamW peak learning rate (warm-up, then linear decay)")
      .Option("weight-decay", "W", "0.01", "AdamW weight decay")
      .Option("batch-size", "N", "16", "questions per step over all ranks")
      .Option("epochs", "N", "2", "passes over the training questions")
      .Option("max-length", "N", "256", "tokens per query or item")
      .Option("heldout-fraction", "F", "0.1", "share of users whose questions are held out for NDCG")
      .Option("ndcg-k", "K", "5", "cut-off of the held-out NDCG")
      .Option("eval-every", "N", "20", "steps between held-out measurements (0: first and last only)")
      .Option("save-every", "N", "0", "steps between checkpoints (0: none)")
      .Option("seed", "S", "42", "held-out split, data order and RL draws")
      .Flag("resume", "continue from the newest checkpoint in --out");
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  comm::MpiJob mpi(&argc, &argv);
  const std::string who = "train-retriever rank " + std::to_string(mpi.rank());
  try {
    pipeline::RetrieverTrainOptions o;
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
    SetUpCompute(args);
    const auto feedback = pipeline::ReadFeedback(args.Get("feedback"));
    const std::string checkpoint = o.resume ? pipeline::NewestRetrieverCheckpoint(o.out_dir) : "";
    const std::string encoder_dir = checkpoint.empty() ? args.Get("init") : checkpoint;
    auto encoder = model::LoadBert(encoder_dir);
    const auto tokenizer = text::Tokenizer::FromFile(encoder_dir + "/tokenizer.json");
    std::unique_ptr<comm::TensorCollectives> group;
    if (mpi.size() > 1) group = std::make_unique<comm::TensorCollectives>(MPI_COMM_WORLD, "retriever learners");
    const auto report = pipeline::TrainRetriever(encoder, encoder_dir, *tokenizer, feedback, o, group.get(),
                                                 [](const std::string& line) {
                                                   std::fprintf(stderr, "train-retriever: %s\n", line.c_str());
                                                 });
    if (mpi.rank() == 0)
      std::printf("wrote %s: %s retriever after %lld steps on %zu questions (%zu held out): ndcg@%d %.4f -> %.4f, "
                  "top-1 utility %.4f -> %.4f (first stage %.4f, oracle %.4f) in %.0f s\n",
                  o.out_dir.c_str(), o.mode.c_str(), static_cast<long long>(report.steps), report.train_questions,
                  report.heldout_questions, o.ndcg_k, report.before.ndcg, report.after.ndcg,
                  report.before.top1_utility, report.after.top1_utility, report.after.first_stage_top1_utility,
                  report.after.oracle_top1_utility, report.seconds);
    return 0;
  } catch (const std::exception& e) {
    if (mpi.size() == 1) throw;
    comm::AbortJob(who, e.what());
  }
}

}  // namespace prlm::cli
