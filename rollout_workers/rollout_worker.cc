#include "rollout_workers/rollout_worker.h"

#include <chrono>

#include "common/comm/tensor_collectives.h"
#include "common/retrieval/profile_prompts.h"
#include "common/util/check.h"

namespace prlm::rollout {

namespace {
using Clock = std::chrono::steady_clock;
double Seconds(Clock::time_point since) { return std::chrono::duration<double>(Clock::now() - since).count(); }

void ReplaceAll(std::string& s, const std::string& from, const std::string& to) {
  for (size_t at = s.find(from); at != std::string::npos; at = s.find(from, at + to.size())) s.replace(at, from.size(), to);
}
}  // namespace

std::string SftTarget(const std::string& tmpl, const std::string& gold) {
  std::string out = tmpl;
  ReplaceAll(out, "{output}", gold);
  return out;
}

RolloutWorker::RolloutWorker(model::Qwen2ForCausalLM policy, std::shared_ptr<const text::Tokenizer> tokenizer,
                             retrieval::ProfileRetriever* retriever, ScoreFn score, RolloutOptions options)
    : policy_(std::move(policy)),
      tokenizer_(std::move(tokenizer)),
      retriever_(retriever),
      score_(std::move(score)),
      options_(std::move(options)),
      template_(&text::PromptTemplateFor(options_.task)) {
  PRLM_REQUIRE(options_.group_size >= 1, "rollout: group size must be at least 1");
  PRLM_REQUIRE(options_.sft_template.find("{output}") != std::string::npos,
               "rollout: the sft template must contain {output}");
  if (options_.lora) model::ApplyLora(*policy_, options_.lora_options);
  comm::PackIntoBuckets(TrainableParameters(), /*with_grads=*/false);  // weight sync lands in place
  policy_->eval();
  if (options_.sampling.stop_token_ids.empty())
    options_.sampling.stop_token_ids = text::StopTokenIds(policy_->config().eos_token_ids, *tokenizer_);
  PRLM_REQUIRE(!options_.sampling.stop_token_ids.empty(),
               "rollout: the policy names no EOS token and its tokenizer has no <|im_end|> / <|endoftext|>");
}

std::vector<torch::Tensor> RolloutWorker::TrainableParameters() {
  std::vector<torch::Tensor> out;
  for (auto& p : policy_->named_parameters(true))
    if (p.value().requires_grad()) out.push_back(p.value());
  return out;
}

proto::RolloutResult RolloutWorker::Run(const proto::RolloutWork& work) {
  PRLM_REQUIRE(work.prompts_size() > 0, "rollout: step " << work.step() << " came with no prompts");
  proto::RolloutResult result;
  result.set_step(work.step());
  result.set_weight_version(weight_version_);

  // 1. Profiles and prompts.
  auto t0 = Clock::now();
  std::vector<retrieval::ProfileQuestion> questions;
  for (const auto& p : work.prompts()) questions.push_back({p.user_id(), p.query()});
  retrieval::ProfilePromptOptions po;
  po.retriever = options_.retriever;
  po.k = options_.k;
  po.prompt.max_prompt_tokens = options_.max_prompt_tokens;
  po.prompt.open_think = options_.open_think;
  po.prompt.with_profile = options_.retriever != "none";
  const auto prompts = retrieval::BuildProfilePrompts(retriever_, *template_, *tokenizer_, questions, po);
  result.set_retrieval_s(Seconds(t0));

  std::vector<size_t> asked;  // indices of prompts that go on
  for (int i = 0; i < work.prompts_size(); ++i) {
    auto* group = result.add_groups();
    group->set_index(work.prompts(i).index());
    if (!prompts[i].error.empty()) {
      group->set_error(prompts[i].error);
      continue;
    }
    group->mutable_prompt()->Add(prompts[i].built.ids.begin(), prompts[i].built.ids.end());
    group->set_items_used(prompts[i].built.items_used);
    asked.push_back(static_cast<size_t>(i));
  }

  // sft: the target instead of samples.
  if (work.prompts_only()) {
    for (size_t i : asked) {
      auto* sample = result.mutable_groups(static_cast<int>(i))->add_samples();
      auto ids = tokenizer_->Encode(SftTarget(options_.sft_template, work.prompts(static_cast<int>(i)).gold()));
      ids.push_back(options_.sampling.stop_token_ids.front());
      sample->mutable_tokens()->Add(ids.begin(), ids.end());
      sample->set_stopped(true);
    }
    return result;
  }
  if (asked.empty()) return result;

  // 2. G samples per prompt, one batch.
  t0 = Clock::now();
  const uint64_t step_seed = model::SampleSeed(options_.seed, static_cast<uint64_t>(work.step()), 0);
  std::vector<model::GenerationRequest> requests;
  for (size_t i : asked) {
    model::GenerationRequest r;
    r.prompt = prompts[i].built.ids;
    for (int g = 0; g < options_.group_size; ++g)
      r.sample_seeds.push_back(model::SampleSeed(step_seed, work.prompts(static_cast<int>(i)).index(), g));
    requests.push_back(std::move(r));
  }
  model::GenerationStats gen_stats;
  std::vector<std::vector<model::Completion>> completions;
  {
    torch::NoGradGuard no_grad;
    completions = model::Generate(policy_, requests, options_.sampling, &gen_stats);
  }
  result.set_generation_s(Seconds(t0));
  result.set_prefill_tokens(gen_stats.prefill_tokens);
  result.set_decode_tokens(gen_stats.decode_tokens);

  // 3. Score every sample in one request.
  t0 = Clock::now();
  proto::ScoreRequest request;
  request.set_timeout_ms(options_.reward_timeout_ms);
  for (size_t j = 0; j < asked.size(); ++j) {
    const auto& p = work.prompts(static_cast<int>(asked[j]));
    for (const auto& c : completions[j]) {
      auto* item = request.add_items();
      item->set_query(p.input());
      item->set_completion(tokenizer_->Decode(c.tokens, /*skip_special_tokens=*/true));
      item->set_gold(p.gold());
      item->set_user_id(p.user_id());
    }
  }
  const proto::ScoreReply reply = score_(request);
  PRLM_REQUIRE(reply.status() == proto::ScoreReply::OK,
               "rollout: step " << work.step() << ": the reward tier answered "
                                << proto::ScoreReply::Status_Name(reply.status()) << ": " << reply.error());
  PRLM_REQUIRE(reply.items_size() == request.items_size(),
               "rollout: the reward tier returned " << reply.items_size() << " scores for " << request.items_size()
                                                    << " samples");
  result.set_reward_s(Seconds(t0));
  result.set_reward_queue_depth(static_cast<int64_t>(reply.queued_sequences()));

  // 4. Report.
  int scored = 0;
  for (size_t j = 0; j < asked.size(); ++j) {
    auto* group = result.mutable_groups(static_cast<int>(asked[j]));
    for (const auto& c : completions[j]) {
      const auto& s = reply.items(scored++);
      auto* sample = group->add_samples();
      sample->mutable_tokens()->Add(c.tokens.begin(), c.tokens.end());
      sample->mutable_logprobs()->Add(c.logprobs.begin(), c.logprobs.end());
      sample->set_stopped(c.stopped);
      sample->set_reward(s.reward());
      *sample->mutable_components() = s.components();
    }
  }
  return result;
}

}  // namespace prlm::rollout
