#include "options/policy_options.h"

#include <cstdio>

#include "options/compute_options.h"
#include "common/jinja/chat_template.h"
#include "common/model/model_config.h"
#include "common/model/pretrained.h"
#include "common/text/prompt.h"
#include "common/util/check.h"

namespace prlm::options {

// Chooses device, dtype and CPU threads from the options, then loads.
LoadedPolicy LoadPolicy(const std::string& dir, const Args& args) {
  const model::ComputeDevice where = SetUpCompute(args);
  LoadedPolicy p;
  p.tokenizer = text::Tokenizer::FromFile(dir + "/tokenizer.json");
  p.model = model::LoadCausalLM(dir, where.device, where.dtype);
  try {
    p.chat = jinja::ChatRendererFor(dir, &p.chat_origin);
  } catch (const jinja::TemplateError& e) {
    PRLM_THROW(e.what());
  }
  PRLM_REQUIRE(p.tokenizer->vocab_size() <= p.model->config().vocab_size,
               "model '" << dir << "': tokenizer.json has ids up to " << p.tokenizer->vocab_size() - 1
                         << " but config.json vocab_size is " << p.model->config().vocab_size);
  return p;
}

void AddSamplingOptions(Args& args, const char* temperature) {
  args.Option("max-new-tokens", "N", "64", "tokens to generate at most per sample")
      .Option("temperature", "T", temperature, "sampling temperature")
      .Option("top-p", "P", "1.0", "nucleus sampling mass (1 = off)")
      .Option("top-k", "K", "0", "sample among the K most likely tokens (0 = off)")
      .Option("seed", "S", "42", "random seed (each sample has its own stream)")
      .Flag("greedy", "always take the most likely token");
}

void ApplyGenerationDefaults(Args& args, const std::string& model_dir) {
  const auto g = model::GenerationConfig::LoadFromDir(model_dir);
  std::string used;
  const auto fill = [&](const char* option, const std::string& value) {
    if (args.Has(option)) return;
    args.Set(option, value);
    used += std::string(used.empty() ? "" : ", ") + "--" + option + " " + value;
  };
  if (g.do_sample == false && !args.Has("temperature") && !args.GetFlag("greedy")) {
    args.Set("greedy", "true");
    used += std::string(used.empty() ? "" : ", ") + "--greedy (do_sample false)";
  }
  if (g.temperature && *g.temperature > 0) fill("temperature", std::to_string(*g.temperature));
  if (g.top_p) fill("top-p", std::to_string(*g.top_p));
  if (g.top_k) fill("top-k", std::to_string(*g.top_k));
  if (!used.empty())
    std::fprintf(stderr, "sampling defaults from %s/generation_config.json: %s\n", model_dir.c_str(), used.c_str());
}

generation::SamplingParams SamplingFromArgs(const Args& args) {
  generation::SamplingParams p;
  p.max_new_tokens = args.GetInt("max-new-tokens");
  p.temperature = args.GetDouble("temperature");
  p.top_p = args.GetDouble("top-p");
  p.top_k = args.GetInt("top-k");
  p.greedy = args.GetFlag("greedy");
  PRLM_REQUIRE(p.max_new_tokens > 0, "--max-new-tokens must be positive");
  PRLM_REQUIRE(p.top_p > 0 && p.top_p <= 1, "--top-p must be in (0, 1], got " << p.top_p);
  PRLM_REQUIRE(p.greedy || p.temperature > 0, "--temperature must be positive (or use --greedy)");
  PRLM_REQUIRE(p.top_k >= 0, "--top-k must be >= 0, got " << p.top_k);
  return p;
}

void AddStopTokens(generation::SamplingParams& p, const text::Tokenizer& tok, const model::DecoderConfig& cfg) {
  for (int32_t id : text::StopTokenIds(cfg.eos_token_ids, tok)) p.stop_token_ids.push_back(id);
}

}  // namespace prlm::options
