// Loading a decoder policy (Qwen2, Qwen3, Llama) and the sampling options, shared by every command
// that generates (generate, demo, make-rm-pairs, ...).
#pragma once

#include <memory>
#include <string>

#include "options/args.h"
#include "common/generation/generate.h"
#include "common/model/causal_lm.h"
#include "common/text/prompt.h"
#include "common/text/tokenizer.h"

namespace prlm::options {

struct LoadedPolicy {
  model::CausalLM model{nullptr};
  std::shared_ptr<const text::Tokenizer> tokenizer;
  text::ChatRenderer chat;  // the directory's chat template; empty: ChatML
  std::string chat_origin;  // which: the file, or ChatML
};

// Chooses device, dtype and CPU threads from the compute options, then loads
// DIR's config.json, weights and tokenizer.json (checked against each other)
// and its chat template (a broken one is refused here, naming the line).
LoadedPolicy LoadPolicy(const std::string& dir, const Args& args);

// --max-new-tokens --temperature --top-p --top-k --seed --greedy; `temperature`
// is the default shown.
void AddSamplingOptions(Args& args, const char* temperature = "0.7");
// The model's default sampling from DIR/generation_config.json (temperature,
// top_p, top_k; do_sample false means greedy) for each option not given on
// the command line; says on stderr which it used.
void ApplyGenerationDefaults(Args& args, const std::string& model_dir);
// Validated before any model is loaded, so a typo fails fast.
generation::SamplingParams SamplingFromArgs(const Args& args);
// Stop at the model's EOS tokens (config.json and generation_config.json),
// else the chat end tokens.
void AddStopTokens(generation::SamplingParams& p, const text::Tokenizer& tok, const model::DecoderConfig& cfg);

}  // namespace prlm::options
