#include "options/config_flags.h"

#include <cctype>

#include "common/util/check.h"

namespace prlm::options {

ConfigFlags::ConfigFlags(config::TrainConfig* config) : config_(config), schema_(config::TrainConfig::Bind(*config)) {}

ConfigFlags& ConfigFlags::Map(Args& args, const std::string& flag, const std::string& key) {
  const config::ConfigSchema::KeyInfo info = schema_.Info(key);
  const std::string help = info.help + " (" + key + ")";
  std::string value_name = info.type == "int" ? "N" : info.type == "number" ? "X" : "TEXT";
  if (info.type == "choice") {
    value_name.clear();
    for (const auto& c : info.choices) value_name += (value_name.empty() ? "" : "|") + c;
  }
  if (info.type == "bool")
    args.Flag(flag, help);
  else
    args.Option(flag, value_name, info.value, help);
  flags_.emplace_back(flag, key);
  return *this;
}

void ConfigFlags::Apply(const Args& args, const std::function<void()>& check) {
  try {
    for (const auto& [flag, key] : flags_) {
      if (!args.Has(flag)) continue;
      schema_.SetValue(key, schema_.Info(key).type == "bool" ? "true" : args.Get(flag), "command line");
    }
    if (check) check();
  } catch (const util::Error& e) {
    // Say which flag sets each key the message names.
    std::string message = e.what();
    for (const auto& [flag, key] : flags_) {
      std::string out;
      size_t pos = 0;
      for (size_t at; (at = message.find(key, pos)) != std::string::npos; pos = at + key.size()) {
        const size_t end = at + key.size();
        const bool longer_key = end < message.size() && (std::isalnum(static_cast<unsigned char>(message[end])) ||
                                                         message[end] == '_' || message[end] == '.');
        out += message.substr(pos, at - pos) + (longer_key ? key : "--" + flag + " (" + key + ")");
      }
      message = out + message.substr(pos);
    }
    PRLM_THROW(message);
  }
}

void MapRewardFlags(ConfigFlags& flags, Args& args) {
  flags.Map(args, "model", "reward.model")
      .Map(args, "w-acc", "reward.w_acc")
      .Map(args, "w-sim", "reward.w_sim")
      .Map(args, "w-fmt", "reward.w_fmt")
      .Map(args, "w-pers", "reward.w_pers")
      .Map(args, "stem", "reward.stem")
      .Map(args, "max-length", "reward.max_length")
      .Map(args, "max-batch-size", "reward.max_batch_size")
      .Map(args, "max-batch-tokens", "reward.max_batch_tokens")
      .Map(args, "max-queue-delay-us", "reward.max_queue_delay_us")
      .Map(args, "model-threads", "reward.model_threads")
      .Map(args, "default-timeout-ms", "reward.timeout_ms")
      .Map(args, "max-queued", "reward.max_queued");
}

}  // namespace prlm::options
