// LoRe's fitting options (common/reward/lore.h, pipeline/lore_training.h),
// shared by train-lore and eval-lore, bound to a reward::LoreOptions (its
// defaults are the options' defaults), with --pooling and --max-length of
// the embedder.
#pragma once

#include "common/reward/lore.h"
#include "options/args.h"

namespace prlm::options {

void AddLoreOptions(Args& args, reward::LoreOptions* o);
// After args.Parse: throws util::Error naming the option out of range.
void CheckLoreOptions(const reward::LoreOptions& o);

}  // namespace prlm::options
