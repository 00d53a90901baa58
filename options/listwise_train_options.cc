#include "options/listwise_train_options.h"

#include "options/compute_options.h"

namespace prlm::options {

void AddListwiseTrainOptions(Args& args, const char* max_length_help, pipeline::RetrieverTrainOptions* o) {
  args.Option("feedback", "FILE", "", "the feedback file (JSON lines) to learn from", true)
      .Bind("out", "DIR", &o->out_dir, "output directory", true)
      .Bind("mode", "kd|rl", &o->mode,
            "kd: KL(softmax(u/T) || softmax(s/T)); rl: d ~ softmax(s/T), -log p(d) (u(d) - u(d_1))")
      .Bind("temperature", "T", &o->temperature, "divides scores and, for kd, utilities")
      .Bind("lr", "LR", &o->lr, "AdamW peak learning rate (warm-up, then linear decay)")
      .Bind("weight-decay", "W", &o->weight_decay, "AdamW weight decay")
      .Bind("batch-size", "N", &o->batch_size, "questions per step over all ranks")
      .Bind("epochs", "N", &o->epochs, "passes over the training questions")
      .Bind("max-length", "N", &o->max_length, max_length_help)
      .Bind("heldout-fraction", "F", &o->heldout_fraction, "share of users whose questions are held out for NDCG")
      .Bind("ndcg-k", "K", &o->ndcg_k, "cut-off of the held-out NDCG")
      .Bind("eval-every", "N", &o->eval_every, "steps between held-out measurements (0: first and last only)")
      .Bind("save-every", "N", &o->save_every, "steps between checkpoints (0: none)")
      .Bind("seed", "S", &o->seed, "held-out split, data order, RL draws (and a new head's weights)")
      .Bind("resume", &o->resume, "continue from the newest checkpoint in --out");
  AddComputeOptions(args);
}

}  // namespace prlm::options
