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
#include <limits>

#include "cli/commands.h"
#include "common/comm/mpi_job.h"
#include "common/util/check.h"
#include "options/args.h"
#include "options/compute_options.h"
#include "options/feedback_options.h"
#include "options/listwise_train_options.h"
#include "options/retriever_options.h"
#include "options/server_options.h"
#include "pipeline/feedback_job.h"
#include "pipeline/rank_share.h"
#include "pipeline/retriever_feedback.h"
#include "pipeline/retriever_selection.h"
#include "pipeline/retriever_trainer.h"

namespace prlm::cli {

namespace {

const char* Plural(int n) { return n == 1 ? "" : "s"; }

}  // namespace

int RunCollectFeedback(int argc, char** argv) {
  options::Args args("collect-feedback",
                     "ROPG's feedback: for each question, the first-stage retriever's top-K profile items are the\n"
                     "candidates; the frozen policy answers once per candidate with only that item in its prompt\n"
                     "(greedy unless --temperature), and the reward tier's --utility output scores each answer\n"
                     "against the gold. Run it under mpirun -np N to split the questions among N ranks; rank 0\n"
                     "writes --out (JSON lines, one record per question, in the split's order;\n"
                     "pipeline/retriever_feedback.h).");
  options::FeedbackSetup job(args);
  options::AddRetrieverOptions(args, "the first stage: bm25, dense, dense_hnsw, recency or random",
                               "candidates per question (N)", "20");
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  return pipeline::RunAsMpiRank(&argc, &argv, "collect-feedback", [&](const comm::MpiJob& mpi, const std::string& who) {
    // 1. Options, data, policy, scorer and retriever: every rank alike.
    job.Load(args);
    pipeline::FeedbackOptions& o = job.options;
    o.first_stage = args.Get("retriever");
    o.candidates = args.GetInt("k");
    auto retriever = options::OpenRetriever(args, {&job.dataset}, {o.first_stage});
    // 2. This rank's share of the questions, written by rank 0 in the split's order.
    const auto collect = [&](const std::vector<size_t>& mine, const pipeline::FeedbackProgress& progress) {
      return pipeline::CollectFeedback(job.policy.model, *job.policy.tokenizer, *retriever, job.dataset, mine,
                                       job.scorer.score, o, progress);
    };
    if (!pipeline::CollectOnRanks(mpi, who, job.dataset.examples.size(), args.Get("out"), collect)) return 0;
    std::printf("wrote %s: %zu questions (%s top-%d candidates, utility %s) from %d rank%s\n", args.Get("out").c_str(),
                job.dataset.examples.size(), o.first_stage.c_str(), o.candidates, o.utility.c_str(), mpi.size(),
                Plural(mpi.size()));
    return 0;
  });
}

int RunCollectSelection(int argc, char** argv) {
  options::Args args("collect-selection",
                     "RSPG's data: for each question, the frozen policy answers once per candidate retriever with\n"
                     "that retriever's top --k items (zero-shot for none), and the reward tier's --utility output\n"
                     "scores each answer. Same file format as collect-feedback, the candidates being the\n"
                     "retrievers; train-selector learns from it. Under mpirun -np N the ranks split the questions.");
  options::FeedbackSetup job(args);
  args.Option("candidates", "SPEC", "",
              "the retrievers: none, recency, bm25, random, NAME=ENCODER_DIR (dense),\n"
              "comma separated, e.g. none,recency,bm25,dense=bert,ropg-kd=ropg_kd",
              true)
      .Option("k", "K", "1", "profile items per prompt");
  options::AddClientSecretOptions(args);  // with --reward-server
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  return pipeline::RunAsMpiRank(
      &argc, &argv, "collect-selection", [&](const comm::MpiJob& mpi, const std::string& who) {
        // 1. Options, data, policy, scorer and the candidate retrievers: every rank alike.
        job.Load(args);
        pipeline::FeedbackOptions& o = job.options;
        o.first_stage = "retrievers:" + args.Get("candidates");
        pipeline::CandidateRetrievers retrievers(pipeline::ParseSelectionCandidates(args.Get("candidates")),
                                                 {&job.dataset});
        // 2. This rank's share of the questions, written by rank 0 in the split's order.
        const auto collect = [&](const std::vector<size_t>& mine, const pipeline::FeedbackProgress& progress) {
          return pipeline::CollectSelectionFeedback(job.policy.model, *job.policy.tokenizer, retrievers,
                                                    args.GetInt("k"), job.dataset, mine, job.scorer.score, o, progress);
        };
        if (!pipeline::CollectOnRanks(mpi, who, job.dataset.examples.size(), args.Get("out"), collect)) return 0;
        std::printf("wrote %s: %zu questions, %zu retrievers each (utility %s) from %d rank%s\n",
                    args.Get("out").c_str(), job.dataset.examples.size(), retrievers.candidates().size(),
                    o.utility.c_str(), mpi.size(), Plural(mpi.size()));
        return 0;
      });
}

namespace {}  // namespace

int RunTrainRetriever(int argc, char** argv) {
  options::Args args("train-retriever",
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
  options::AddClientSecretOptions(args);  // with --refresh-server
  pipeline::RetrieverTrainOptions o;
  o.command = "train-retriever";
  options::AddListwiseTrainOptions(args, "tokens per query or item", &o);
  if (!args.Parse(argc, argv)) return 0;
  return pipeline::RunAsMpiRank(&argc, &argv, "train-retriever", [&](const comm::MpiJob& mpi, const std::string& who) {
    if (args.Has("refresh-server")) {
      // The tier follows training: each refresh re-embeds every shard with the current weights.
      PRLM_REQUIRE(args.GetInt("refresh-every") >= 0, "--refresh-every must not be negative");
      o.refresh_every =
          args.GetInt("refresh-every") > 0 ? args.GetInt("refresh-every") : std::numeric_limits<int>::max();
      o.refresh = pipeline::RefreshShardsWith(net::ParseEndpoints(args.Get("refresh-server")),
                                              options::ClientOptionsFrom(args));
    }
    options::SetUpCompute(args);
    const std::string summary = pipeline::TrainRetrieverOnRank(mpi, args.Get("init"), args.Get("feedback"), o);
    if (mpi.rank() == 0) std::printf("%s\n", summary.c_str());
    return 0;
  });
}

int RunTrainSelector(int argc, char** argv) {
  options::Args args(
      "train-selector",
      "RSPG: train a retriever selector (a BERT cross-encoder with one output) from collect-selection's\n"
      "utilities, by the same listwise KD (or RL) as train-retriever, over the retrievers of each\n"
      "question. --variant pre reads the retriever's name, the input and its items; post also reads\n"
      "the answer the policy gave with them. Under mpirun -np N the ranks split every batch. --out is\n"
      "the selector directory that eval --retriever rspg-pre / rspg-post takes as --selector.");
  args.Option("init", "DIR", "", "a BERT directory to start from (a new one-output head is added)", true)
      .Option("variant", "pre|post", "pre", "pre: choose before generating; post: choose among the answers");
  pipeline::RetrieverTrainOptions o;
  o.command = "train-selector";
  options::AddListwiseTrainOptions(args, "tokens per candidate text (retriever, [answer,] input, items)", &o);
  if (!args.Parse(argc, argv)) return 0;
  return pipeline::RunAsMpiRank(&argc, &argv, "train-selector", [&](const comm::MpiJob& mpi, const std::string& who) {
    options::SetUpCompute(args);
    const std::string summary =
        pipeline::TrainSelectorOnRank(mpi, args.Get("init"), args.Get("variant"), args.Get("feedback"), o);
    if (mpi.rank() == 0) std::printf("%s\n", summary.c_str());
    return 0;
  });
}

}  // namespace prlm::cli
