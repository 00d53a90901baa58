// prlm init-model / generate / logprobs / demo.
#include <nlohmann/json.hpp>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include "cli/args.h"
#include "cli/commands.h"
#include "cli/compute_options.h"
#include "cli/policy_options.h"
#include "common/jinja/chat_template.h"
#include "common/model/generation.h"
#include "common/model/pretrained.h"
#include "common/text/prompt.h"
#include "common/text/tokenizer.h"
#include "common/util/check.h"
#include "pipeline/init_model.h"

namespace prlm::cli {
namespace {

// Prompts from --prompt or --input (one per line).
std::vector<std::string> ReadPrompts(const Args& args, const char* text_option) {
  std::vector<std::string> out;
  if (args.Has(text_option)) out.push_back(args.Get(text_option));
  if (args.Has("input")) {
    std::ifstream in(args.Get("input"), std::ios::binary);
    PRLM_REQUIRE(in, "cannot open --input '" << args.Get("input") << "'");
    for (std::string line; std::getline(in, line);)
      if (!line.empty()) out.push_back(line);
  }
  PRLM_REQUIRE(!out.empty(), "give --" << text_option << " TEXT or --input FILE");
  return out;
}

}  // namespace

int RunInitModel(int argc, char** argv) {
  Args args("init-model",
            "Write a randomly initialised model in Hugging Face layout (config.json,\n"
            "model.safetensors, tokenizer.json). Positional key=value pairs override\n"
            "config.json fields, e.g. num_hidden_layers=2.");
  args.Option("arch", "qwen2|qwen3|llama|bert", "qwen2", "architecture")
      .Option("preset", "NAME", "tiny", "tiny (~2M parameters) or small (~25M)")
      .Option("tokenizer", "FILE", "", "tokenizer.json to use (default: train one on a built-in corpus)")
      .Option("tokenizer-vocab-size", "N", "4096", "vocabulary size of the trained tokenizer")
      .Option("seed", "S", "42", "initialisation seed")
      .Option("out", "DIR", "", "output directory", true)
      .Positional("[key=value...]", "config.json overrides");
  if (!args.Parse(argc, argv)) return 0;
  pipeline::InitModelSpec spec;
  spec.arch = args.Get("arch");
  spec.preset = args.Get("preset");
  spec.tokenizer = args.Get("tokenizer");
  spec.tokenizer_vocab_size = args.GetInt("tokenizer-vocab-size");
  spec.seed = static_cast<uint64_t>(args.GetInt("seed"));
  spec.out_dir = args.Get("out");
  spec.overrides = args.positional();
  const int64_t n = pipeline::InitModelDir(spec);
  std::printf("init-model: wrote %s model (%s, %.2fM parameters) to %s\n", spec.arch.c_str(), spec.preset.c_str(),
              n / 1e6, spec.out_dir.c_str());
  return 0;
}

int RunGenerate(int argc, char** argv) {
  Args args("generate",
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
  AddComputeOptions(args);
  AddSamplingOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  ApplyGenerationDefaults(args, args.Get("model"));
  auto params = SamplingFromArgs(args);
  const int G = args.GetInt("num-samples"), batch = args.GetInt("batch-size");
  PRLM_REQUIRE(G > 0 && batch > 0, "--num-samples and --batch-size must be positive");
  auto prompts = ReadPrompts(args, "prompt");
  if (args.GetFlag("chat")) {
    const auto chat = jinja::ChatTemplate::FromModelDir(args.Get("model"));
    std::fprintf(stderr, "generate: prompts rendered with %s\n",
                 chat ? chat->origin().c_str() : "ChatML (no chat template)");
    for (auto& p : prompts) {
      if (!chat) {
        p = text::ChatMl({{"user", p}});
        continue;
      }
      try {
        p = chat->Render(nlohmann::ordered_json::array({{{"role", "user"}, {"content", p}}}), true);
      } catch (const jinja::TemplateError& e) {
        PRLM_THROW(e.what());
      }
    }
  }
  auto policy = LoadPolicy(args.Get("model"), args);
  AddStopTokens(params, *policy.tokenizer, policy.model->config());
  const uint64_t seed = static_cast<uint64_t>(args.GetInt("seed"));
  model::GenerationStats stats;
  for (size_t start = 0; start < prompts.size(); start += batch) {
    std::vector<model::GenerationRequest> reqs;
    for (size_t i = start; i < std::min(prompts.size(), start + batch); ++i) {
      model::GenerationRequest r;
      r.prompt = policy.tokenizer->Encode(prompts[i]);
      for (int g = 0; g < G; ++g) r.sample_seeds.push_back(model::SampleSeed(seed, i, g));
      reqs.push_back(std::move(r));
    }
    const auto out = model::Generate(policy.model, reqs, params, &stats);
    for (size_t i = 0; i < out.size(); ++i)
      for (size_t g = 0; g < out[i].size(); ++g) {
        const auto& c = out[i][g];
        nlohmann::json j = {{"prompt", start + i},
                            {"sample", g},
                            {"text", policy.tokenizer->Decode(c.tokens, true)},
                            {"num_tokens", c.tokens.size()},
                            {"stopped", c.stopped}};
        std::printf("%s\n", j.dump().c_str());
      }
  }
  std::fprintf(stderr, "generate: %s\n", stats.Summary().c_str());
  return 0;
}

int RunLogprobs(int argc, char** argv) {
  Args args("logprobs",
            "Print per-token log-probs of texts under a decoder model (Qwen2, Qwen3, Llama): one JSON object per\n"
            "text, {\"ids\": [...], \"logprobs\": [...]} where logprobs[t] = log p(ids[t+1] | ids[..t]).");
  args.Option("model", "DIR", "", "model directory", true)
      .Option("text", "TEXT", "", "one text")
      .Option("input", "FILE", "", "texts, one per line")
      .Option("temperature", "T", "1.0", "divide logits by T first");
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  auto policy = LoadPolicy(args.Get("model"), args);
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
  Args args("demo",
            "The embedded default job for a machine without a GPU: train a small tokenizer,\n"
            "initialise a small Qwen2 model, sample G completions per prompt and report\n"
            "prefill and decode tokens/s.");
  args.Option("workdir", "DIR", "out/demo", "where the tokenizer and model are written")
      .Option("preset", "NAME", "tiny", "model preset (tiny, small)")
      .Option("num-samples", "G", "4", "samples per prompt")
      .Option("max-new-tokens", "N", "48", "tokens per sample");
  AddComputeOptions(args);
  if (!args.Parse(argc, argv)) return 0;
  const std::string dir = args.Get("workdir") + "/policy-" + args.Get("preset");
  std::printf("[1/3] training a byte-level BPE tokenizer and initialising a %s Qwen2 model in %s\n",
              args.Get("preset").c_str(), dir.c_str());
  pipeline::InitModelSpec spec;
  spec.preset = args.Get("preset");
  spec.out_dir = dir;
  const int64_t n = pipeline::InitModelDir(spec);
  auto policy = LoadPolicy(dir, args);
  std::printf("      %.2fM parameters, vocabulary %d\n", n / 1e6, policy.tokenizer->vocab_size());

  const std::vector<std::string> prompts = {
      "<|im_start|>user\nWrite a headline for: The city council approved a plan.<|im_end|>\n"
      "<|im_start|>assistant\n<think>",
      "<|im_start|>user\nWrite a title for: a faster method for training models.<|im_end|>\n"
      "<|im_start|>assistant\n<think>",
      "Researchers announced", "The central bank warned about"};
  const int G = args.GetInt("num-samples");
  std::printf("[2/3] sampling %d completions for each of %zu prompts (temperature 0.7)\n", G, prompts.size());
  std::vector<model::GenerationRequest> reqs;
  for (size_t i = 0; i < prompts.size(); ++i) {
    model::GenerationRequest r;
    r.prompt = policy.tokenizer->Encode(prompts[i]);
    for (int g = 0; g < G; ++g) r.sample_seeds.push_back(model::SampleSeed(42, i, g));
    reqs.push_back(std::move(r));
  }
  model::SamplingParams params;
  params.max_new_tokens = args.GetInt("max-new-tokens");
  params.temperature = 0.7;
  model::GenerationStats stats;
  const auto out = model::Generate(policy.model, reqs, params, &stats);
  for (size_t i = 0; i < out.size(); ++i) {
    const std::string first = policy.tokenizer->Decode(out[i][0].tokens, true);
    std::printf("      prompt %zu, sample 0: %s\n", i, nlohmann::json(first.substr(0, 100)).dump().c_str());
  }
  std::printf("[3/3] %s (untrained model, so the text is noise)\n", stats.Summary().c_str());
  return 0;
}

}  // namespace prlm::cli
