// Training the dense retriever from the LLM's feedback (ROPG; Salemi et al.,
// SIGIR 2024; REFERENCE.md). A BERT bi-encoder (masked mean pooling, unit
// vectors; the `dense` retriever of the retrieval tier) scores each
// question's first-stage candidates, s_j = cos(q, d_j), and learns from the
// feedback's utilities u_j (pipeline/retriever_feedback.h):
//
//   kd  minimise KL(softmax(u / T) || softmax(s / T))      (pipeline/ropg_loss.h)
//   rl  p = softmax(s / T); d ~ p; loss -log p(d) * (u(d) - u(d_1)),
//       d_1 the first stage's top candidate
//
// (the cosines sit in [-1, 1], so both modes divide by T to make the
// distribution as sharp as the teacher's; T = 0.1 by default).
//
// Data-parallel: with a TensorCollectives group each member scores its share
// of every global batch (question j of the batch goes to member j mod size),
// its loss divided by the global batch size, and the gradients are summed
// over the group as the policy learners do; every member then takes the same
// AdamW step, so all hold the same weights. RL draws are seeded by (seed,
// step, question), so they do not depend on the group size. Dropout is off:
// a step is a function of the weights and the batch, which makes resume exact.
//
// Held out: the questions of `heldout_fraction` of the users (by a hash of
// the user id and seed). Every `eval_every` steps (and before the first and
// after the last) member 0 measures on them: NDCG@k of the retriever's
// ranking with the utilities as gains, the utility of its top-1, the same two
// for the first stage's order, the oracle's top-1, and the teacher-student KL.
//
// The output directory is a BERT directory in Hugging Face layout
// (config.json, model.safetensors, tokenizer.json): `build-index --encoder`,
// `serve-retrieval --encoder` and `eval --encoder` take it as any dense
// encoder. Beside it: metrics.jsonl (one line per step), and checkpoints/
// step-N/ (the encoder, optimizer.pt, state.json) that `resume` continues from
// bit for bit.
//
// The loop itself (TrainListwise) is the scorer's to fill: a ListwiseScorer
// tokenizes a record's candidates and scores them. TrainRetriever's is the
// bi-encoder above; RSPG's retriever selector (pipeline/retriever_selection.h)
// is a cross-encoder over the same records, trained by the same loop.
//
// Thread-safety: one call at a time; under MPI, every member calls it with
// the same arguments.
#pragma once

#include <torch/torch.h>

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "common/comm/mpi_job.h"
#include "common/comm/tensor_collectives.h"
#include "common/model/bert.h"
#include "common/net/rpc_client.h"
#include "common/text/tokenizer.h"
#include "pipeline/retriever_feedback.h"

namespace prlm::pipeline {

struct RetrieverTrainOptions {
  std::string mode = "kd";  // "kd" or "rl"
  double temperature = 0.1;
  double lr = 1e-4;
  double weight_decay = 0.01;
  double warmup_ratio = 0.1;   // then linear decay to 0
  double max_grad_norm = 1.0;  // <= 0: no clipping
  int batch_size = 16;         // questions per step, over the whole group
  int epochs = 2;
  int max_length = 256;  // tokens per text
  double heldout_fraction = 0.1;
  int ndcg_k = 5;
  int eval_every = 20;  // steps; 0: only before and after
  int save_every = 0;   // steps between checkpoints; 0: none
  bool resume = false;  // continue from out_dir's newest checkpoint
  uint64_t seed = 42;
  std::string out_dir;                      // REQUIRED
  std::string command = "train-retriever";  // names the command in messages
  // Every `refresh_every` steps (and after the last), member 0 saves the
  // current weights to out_dir/serving/step-N and calls `refresh` with that
  // directory and the step (the retrieval tier re-embeds with them: see
  // common/retrieval/index_refresh.h); what it returns goes into that step's
  // metrics line as "refresh". Older serving/ directories are removed.
  int refresh_every = 0;
  std::function<std::string(const std::string& model_dir, int64_t step)> refresh;
};

// One question's texts, tokenized once by a ListwiseScorer, and their utilities.
struct EncodedQuestion {
  std::vector<int32_t> query;                    // empty when the scorer reads no separate query
  std::vector<std::vector<int32_t>> candidates;  // one per feedback candidate, in order
  std::vector<double> utilities;                 // filled by the trainer
};

// What TrainListwise trains. Its modules stay in eval mode (no dropout), so
// a step is a function of the weights and the batch.
class ListwiseScorer {
 public:
  virtual ~ListwiseScorer() = default;
  // The record's texts as ids (query and one entry per candidate).
  virtual EncodedQuestion Encode(const FeedbackRecord& record) const = 0;
  // Scores [N_i] per question, in one forward batch, with autograd unless a
  // NoGradGuard is active.
  virtual std::vector<torch::Tensor> Scores(const std::vector<const EncodedQuestion*>& questions) = 0;
  virtual std::vector<torch::Tensor> Parameters() = 0;
  // The directory the model was loaded from (resume checks it is the checkpoint).
  virtual std::string SourceDir() const = 0;
  // Writes a directory the model loads from again (checkpoints and the output).
  virtual void Save(const std::string& dir) = 0;
};

struct RetrieverEval {
  size_t questions = 0;
  double ndcg = 0, top1_utility = 0;                          // the retriever's ranking
  double first_stage_ndcg = 0, first_stage_top1_utility = 0;  // the candidates' given order
  double oracle_top1_utility = 0;
  double best_fixed_top1_utility = 0;  // always the same candidate position, the best one in hindsight
  double kl = 0;                       // KL(softmax(u / T) || softmax(s / T)), mean over questions
};

struct RetrieverTrainReport {
  size_t train_questions = 0, heldout_questions = 0;
  int64_t steps = 0;
  RetrieverEval before, after;
  double seconds = 0;
  std::string ToJson(const RetrieverTrainOptions& options) const;
  // One line for the user: "wrote DIR: MODE WHAT after N steps ...: ndcg@K
  // a -> b, top-1 utility ... (FIRST x, best fixed y, oracle z) in S s".
  std::string Summary(const RetrieverTrainOptions& options, const std::string& what, const std::string& first) const;
};

// A RetrieverTrainOptions::refresh that re-embeds every shard of `servers`
// with the weights in the directory it is given, and returns one summary
// ("HOST:PORT: version V in S s" or "HOST:PORT: FAILED, why", joined by "; ").
std::function<std::string(const std::string& model_dir, int64_t step)> RefreshShardsWith(
    const std::vector<net::Endpoint>& servers, const net::ClientOptions& client);

// REQUIRES: `encoder` was loaded from `encoder_dir` (its tokenizer.json is
// copied into every saved directory); with options.resume and a checkpoint
// in out_dir, `encoder_dir` is that checkpoint (NewestRetrieverCheckpoint).
// `group` may be null (one process).
RetrieverTrainReport TrainRetriever(model::BertEncoder& encoder, const std::string& encoder_dir,
                                    const text::Tokenizer& tokenizer, const std::vector<FeedbackRecord>& feedback,
                                    const RetrieverTrainOptions& options, comm::TensorCollectives* group,
                                    const std::function<void(const std::string&)>& log = {});

// The training loop of both: steps, data-parallel gradients, held-out
// figures, metrics.jsonl, checkpoints (scorer.Save plus optimizer.pt and
// state.json) and exact resume. REQUIRES: with options.resume and a
// checkpoint in out_dir, the scorer was loaded from it.
RetrieverTrainReport TrainListwise(ListwiseScorer& scorer, const std::vector<FeedbackRecord>& feedback,
                                   const RetrieverTrainOptions& options, comm::TensorCollectives* group,
                                   const std::function<void(const std::string&)>& log = {});

// out_dir/checkpoints/step-N with the largest N that is complete, or "".
std::string NewestRetrieverCheckpoint(const std::string& out_dir);

// NDCG@k of `order` (candidate indices, best first) with `gains`; 0 when
// every gain is 0. Exposed for tests.
double Ndcg(const std::vector<int>& order, const std::vector<double>& gains, int k);

// train-retriever as one rank of `mpi`: the encoder from `init_dir` (with
// options.resume, out_dir's newest checkpoint instead), the records of
// `feedback_path`, the ranks as one data-parallel group; progress lines on
// stderr. Returns the report's Summary (rank 0 wrote the files).
std::string TrainRetrieverOnRank(const comm::MpiJob& mpi, const std::string& init_dir, const std::string& feedback_path,
                                 const RetrieverTrainOptions& options);

}  // namespace prlm::pipeline
