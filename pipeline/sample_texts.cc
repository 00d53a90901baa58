#include "pipeline/sample_texts.h"

#include <nlohmann/json.hpp>

#include <algorithm>

#include "common/util/check.h"

namespace prlm::pipeline {

generation::GenerationStats WriteSamples(model::CausalLM& policy, const text::Tokenizer& tokenizer,
                                    const std::vector<std::string>& prompts, int samples, size_t batch,
                                    const generation::SamplingParams& sampling, uint64_t seed, FILE* out) {
  PRLM_REQUIRE(samples >= 1 && batch >= 1, "samples per prompt and prompts per batch must be positive");
  generation::GenerationStats stats;
  for (size_t start = 0; start < prompts.size(); start += batch) {
    std::vector<generation::GenerationRequest> requests;
    for (size_t i = start; i < std::min(prompts.size(), start + batch); ++i) {
      generation::GenerationRequest r;
      r.prompt = tokenizer.Encode(prompts[i]);
      for (int g = 0; g < samples; ++g) r.sample_seeds.push_back(generation::SampleSeed(seed, i, g));
      requests.push_back(std::move(r));
    }
    const auto completions = generation::Generate(policy, requests, sampling, &stats);
    for (size_t i = 0; i < completions.size(); ++i)
      for (size_t g = 0; g < completions[i].size(); ++g) {
        const auto& c = completions[i][g];
        const nlohmann::json line = {{"prompt", start + i},
                                     {"sample", g},
                                     {"text", tokenizer.Decode(c.tokens, true)},
                                     {"num_tokens", c.tokens.size()},
                                     {"stopped", c.stopped}};
        std::fprintf(out, "%s\n", line.dump().c_str());
      }
  }
  return stats;
}

void SamplingDemo(model::CausalLM& policy, const text::Tokenizer& tokenizer, int samples, int max_new_tokens,
                  FILE* out) {
  const std::vector<std::string> prompts = {
      "<|im_start|>user\nWrite a headline for: The city council approved a plan.<|im_end|>\n"
      "<|im_start|>assistant\n<think>",
      "<|im_start|>user\nWrite a title for: a faster method for training models.<|im_end|>\n"
      "<|im_start|>assistant\n<think>",
      "Researchers announced", "The central bank warned about"};
  std::fprintf(out, "[2/3] sampling %d completions for each of %zu prompts (temperature 0.7)\n", samples,
               prompts.size());
  std::vector<generation::GenerationRequest> requests;
  for (size_t i = 0; i < prompts.size(); ++i) {
    generation::GenerationRequest r;
    r.prompt = tokenizer.Encode(prompts[i]);
    for (int g = 0; g < samples; ++g) r.sample_seeds.push_back(generation::SampleSeed(42, i, g));
    requests.push_back(std::move(r));
  }
  generation::SamplingParams params;
  params.max_new_tokens = max_new_tokens;
  params.temperature = 0.7;
  generation::GenerationStats stats;
  const auto completions = generation::Generate(policy, requests, params, &stats);
  for (size_t i = 0; i < completions.size(); ++i) {
    const std::string first = tokenizer.Decode(completions[i][0].tokens, true);
    std::fprintf(out, "      prompt %zu, sample 0: %s\n", i, nlohmann::json(first.substr(0, 100)).dump().c_str());
  }
  std::fprintf(out, "[3/3] %s (untrained model, so the text is noise)\n", stats.Summary().c_str());
}

}  // namespace prlm::pipeline
