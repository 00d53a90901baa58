// Command-line flags that set config keys: `--w-acc X` is `reward.w_acc=X`.
//
// Single-process commands (serve-reward, eval, make-rm-pairs, bench reward)
// take their options from the same config sections as the training job
// (common/config/train_config.h). A mapped flag's default and help are its
// key's, so each default is written once; its value goes through the key's
// parser; an error about the key also names the flag.
//
// Not thread-safe; used once per process, like Args.
#pragma once

#include <functional>
#include <string>
#include <utility>
#include <vector>

#include "options/args.h"
#include "common/config/config_schema.h"
#include "common/config/train_config.h"

namespace prlm::options {

class ConfigFlags {
 public:
  // REQUIRES: `config` outlives this.
  explicit ConfigFlags(config::TrainConfig* config);

  // Declares --flag on `args` for `key` (a bool key becomes a switch).
  ConfigFlags& Map(Args& args, const std::string& flag, const std::string& key);
  // After args.Parse: every mapped flag that was given sets its key, then
  // `check` (a section's Validate, say) runs. Errors name the flag.
  void Apply(const Args& args, const std::function<void()>& check = {});

 private:
  config::TrainConfig* config_;
  config::ConfigSchema schema_;
  std::vector<std::pair<std::string, std::string>> flags_;  // (flag, key)
};

// The reward section's flags: --model --w-acc --w-fmt --w-pers --stem
// --max-length --max-batch-size --max-batch-tokens --max-queue-delay-us
// --model-threads --default-timeout-ms --max-queued.
void MapRewardFlags(ConfigFlags& flags, Args& args);

}  // namespace prlm::options
