// prlm init-model / generate / logprobs / demo.
#include <nlohmann/json.hpp>

#include <cstdio>

#include "cli/commands.h"
#include "common/model/logprobs.h"
#include "common/text/prompt.h"
#include "common/util/check.h"
#include "common/util/file.h"
#include "options/args.h"
#include "options/compute_options.h"
#include "options/policy_options.h"
#include "pipeline/init_model.h"
#include "pipeline/sample_texts.h"

namespace prlm::cli {
namespace {

// Prompts from --prompt or --input (one per line).
std::vector<std::string> ReadPrompts(const options::Args& args, const char* text_option) {
  std::vector<std::string> out;
  if (args.Has(text_option)) out.push_back(args.Get(text_option));
  if (args.Has("input"))
    for (auto& line : util::ReadNonEmptyLines(args.Get("input"))) out.push_back(std::move(line));
  PRLM_REQUIRE(!out.empty(), "give --" << text_option << " TEXT or --input FILE");
  return out;
}

}  // namespace

int RunInitModel(int argc, char** argv) {
  options::Args args("init-model",
                     "Write a randomly initialised model in Hugging Face layout (config.json,\n"
                     "model.safetensors, tokenizer.json). Positional key=value pairs override\n"
                     "config.json fields, e.g. num_hidden_layers=2.");
  pipeline::InitModelSpec spec;
  args.Bind("arch", "qwen2|qwen3|llama|bert", &spec.arch, "architecture")
      .Bind("preset", "NAME", &spec.preset, "tiny (~2M parameters) or small (~25M)")
      .Bind("tokenizer", "FILE", &spec.tokenizer, "tokenizer.json to use (default: train one on a built-in corpus)")
      .Bind("tokenizer-vocab-size", "N", &spec.tokenizer_vocab_size, "vocabulary size of the trained tokenizer")
      .Bind("seed", "S", &spec.seed, "initialisation seed")
      .Bind("out", "DIR", &spec.out_dir, "output directory", true)
      .Positional("[key=value...]", "config.json overrides");
  if (!args.Parse(argc, argv)) return 0;
  spec.overrides = args.positional();
  const int64_t n = pipeline::InitModelDir(spec);
  std::printf("init-model: wrote %s model (%s, %.2fM parameters) to %s\n", spec.arch.c_str(), spec.preset.c_str(),
              n / 1e6, spec.out_dir.c_str());
  return 0;
}

int RunGenerate(int argc, char** argv) {
  options::Args args("generate",
                     "Sample completions from a decoder (Qwen2, Qwen3, Llama); defaults for the sampling options come\n"
                     "from the model's generation_config.json when it has one. Prints one JSON object per sample:\n"
                     "{\"prompt\": i, \"sample\": g, \"text\": ..., \"num_tokens\": n, \"stopped\": bool}.");
  args.Option("model", "DIR", "", "model directory (config.json, model.safetensors, tokenizer.json)", true)
      .Option("prompt", "TEXT", "", "one prompt")
      .Option("input", "FILE", "", "prompts, one per line")
      .Option("num-samples", "G", "1", "samples per prompt (the prompt is prefilled once)")
      .Option("batch-size", "N", "8", "prompts per batch")
      .Flag("chat",
            "send each prompt as one user turn through the model's chat template (ChatML\n"
            "when the model has none), ending with the assistant's turn opening");
  options::AddComputeOptions(args);
  options::AddSamplingOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  options::ApplyGenerationDefaults(args, args.Get("model"));
  auto params = options::SamplingFromArgs(args);
  auto prompts = ReadPrompts(args, "prompt");
  auto policy = options::LoadPolicy(args.Get("model"), args);
  if (args.GetFlag("chat")) {
    std::fprintf(stderr, "generate: prompts rendered with %s\n", policy.chat_origin.c_str());
    for (auto& p : prompts) p = policy.chat ? policy.chat({{"user", p}}) : text::ChatMl({{"user", p}});
  }
  options::AddStopTokens(params, *policy.tokenizer, policy.model->config());
  const auto stats = pipeline::WriteSamples(policy.model, *policy.tokenizer, prompts, args.GetInt("num-samples"),
                                            args.GetUint64("batch-size"), params, args.GetUint64("seed"), stdout);
  std::fprintf(stderr, "generate: %s\n", stats.Summary().c_str());
  return 0;
}

int RunLogprobs(int argc, char** argv) {
  options::Args args(
      "logprobs",
      "Print per-token log-probs of texts under a decoder model (Qwen2, Qwen3, Llama): one JSON object per\n"
      "text, {\"ids\": [...], \"logprobs\": [...]} where logprobs[t] = log p(ids[t+1] | ids[..t]).");
  args.Option("model", "DIR", "", "model directory", true)
      .Option("text", "TEXT", "", "one text")
      .Option("input", "FILE", "", "texts, one per line")
      .Option("temperature", "T", "1.0", "divide logits by T first");
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  auto policy = options::LoadPolicy(args.Get("model"), args);
  std::vector<std::vector<int32_t>> seqs;
  for (const auto& t : ReadPrompts(args, "text")) {
    seqs.push_back(policy.tokenizer->Encode(t));
    PRLM_REQUIRE(seqs.back().size() >= 2, "logprobs: text '" << t << "' has fewer than 2 tokens");
  }
  const auto lps = model::SequenceLogprobs(policy.model, seqs, args.GetDouble("temperature"));
  for (size_t i = 0; i < seqs.size(); ++i)
    std::printf("%s\n", nlohmann::json({{"ids", seqs[i]}, {"logprobs", lps[i]}}).dump().c_str());
  return 0;
}

int RunDemo(int argc, char** argv) {
  options::Args args("demo",
                     "The embedded default job for a machine without a GPU: train a small tokenizer,\n"
                     "initialise a small Qwen2 model, sample G completions per prompt and report\n"
                     "prefill and decode tokens/s.");
  args.Option("workdir", "DIR", "out/demo", "where the tokenizer and model are written")
      .Option("preset", "NAME", "tiny", "model preset (tiny, small)")
      .Option("num-samples", "G", "4", "samples per prompt")
      .Option("max-new-tokens", "N", "48", "tokens per sample");
  options::AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  const std::string dir = args.Get("workdir") + "/policy-" + args.Get("preset");
  std::printf("[1/3] training a byte-level BPE tokenizer and initialising a %s Qwen2 model in %s\n",
              args.Get("preset").c_str(), dir.c_str());
  pipeline::InitModelSpec spec;
  spec.preset = args.Get("preset");
  spec.out_dir = dir;
  const int64_t n = pipeline::InitModelDir(spec);
  auto policy = options::LoadPolicy(dir, args);
  std::printf("      %.2fM parameters, vocabulary %d\n", n / 1e6, policy.tokenizer->vocab_size());

  pipeline::SamplingDemo(policy.model, *policy.tokenizer, args.GetInt("num-samples"), args.GetInt("max-new-tokens"),
                         stdout);
  return 0;
}

}  // namespace prlm::cli
