#include "options/lore_options.h"

#include "common/util/check.h"

namespace prlm::options {

// LoRe's options, bound to `o` (defaults: reward::LoreOptions).
void AddLoreOptions(Args& args, reward::LoreOptions* o) {
  args.Option("pooling", "P", "pooler", "phi: cls, mean or pooler (BERT's pooled state)")
      .Option("max-length", "N", "256", "tokens per (prompt, response)")
      .Bind("iterations", "N", &o->iterations, "alternations of a basis step and a weights step (full-batch Adam)")
      .Bind("lr-basis", "X", &o->lr_basis, "Adam learning rate of the basis V")
      .Bind("lr-weights", "X", &o->lr_weights, "Adam learning rate of the users' logits")
      .Bind("alpha", "X", &o->alpha, "weight of ||V - V_0||^2")
      .Bind("prune-below", "X", &o->prune_below, "drop basis columns no user weighs above this")
      .Bind("scale", "X", &o->scale, "logits are diff . V w / scale (the paper's 100)")
      .Bind("adapt-iterations", "N", &o->adapt_iterations, "a new user's Adam steps (V frozen)")
      .Bind("adapt-lr", "X", &o->adapt_lr, "a new user's Adam learning rate")
      .Bind("seed", "S", &o->seed, "initial basis seed");
}

void CheckLoreOptions(const reward::LoreOptions& o) {
  PRLM_REQUIRE(o.iterations >= 1 && o.adapt_iterations >= 1, "--iterations and --adapt-iterations must be >= 1");
  PRLM_REQUIRE(o.scale > 0 && o.lr_basis > 0 && o.lr_weights > 0 && o.adapt_lr > 0,
               "--scale and the learning rates must be > 0");
}

}  // namespace prlm::options
