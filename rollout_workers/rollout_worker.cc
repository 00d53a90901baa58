#include "rollout_workers/rollout_worker.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/comm/tensor_collectives.h"
#include "common/data/prompt_templates.h"
#include "common/jinja/chat_template.h"
#include "common/util/check.h"
#include "common/util/clock.h"

namespace prlm::rollout_workers {

namespace {

// `text` with every `from` replaced by `to` (not rescanning what was put in).
std::string ReplaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t at = text.find(from); at != std::string::npos; at = text.find(from, at + to.size()))
    text.replace(at, from.size(), to);
  return text;
}

}  // namespace

std::string SftTarget(const std::string& tmpl, const std::string& gold, const std::string& reasoning) {
  return ReplaceAll(ReplaceAll(tmpl, "{reasoning}", reasoning), "{output}", gold);
}

RolloutWorker::RolloutWorker(model::CausalLM policy, std::shared_ptr<const text::Tokenizer> tokenizer,
                             retrieval::ProfileRetriever* retriever, ScoreFn score, const config::TrainConfig& config,
                             const std::string& task)
    : policy_(std::move(policy)),
      tokenizer_(std::move(tokenizer)),
      retriever_(retriever),
      score_(std::move(score)),
      config_(config),
      template_(&data::PromptTemplateFor(task)) {
  const config::GrpoConfig& g = config_.grpo;
  PRLM_REQUIRE(g.group_size >= 1, "rollout: grpo.group_size must be at least 1");
  PRLM_REQUIRE(g.sft_template.find("{output}") != std::string::npos,
               "rollout: grpo.sft_template must contain {output}");
  if (config_.lora.enabled()) model::ApplyLora(*policy_, model::LoraOptionsOf(config_.lora));
  comm::PackIntoBuckets(TrainableParameters(), /*with_grads=*/false);  // weight sync lands in place
  policy_->eval();
  auto& po = answer_options_.prompts;
  po.retriever = std::string(config::NameOf(config_.retrieval.retriever));
  po.k = static_cast<int>(config_.retrieval.k);
  po.prompt.max_prompt_tokens = static_cast<int>(g.max_prompt_tokens);
  po.prompt.open_think = g.open_think;
  po.prompt.with_profile = config_.retrieval.retriever != config::RetrieverKind::kNone;
  // The policy's own chat template (ChatML for models without one).
  po.prompt.chat = jinja::ChatRendererFor(config_.model.policy, &chat_origin_);
  spdlog::info("rollout: prompts use {}", chat_origin_);
  answer_options_.kv_cache_tokens = g.kv_cache_tokens;
  answer_options_.on_weight_update = g.partial_rollouts == config::PartialRollouts::kRequeue
                                         ? generation::WeightSwapPolicy::kAbortAndRequeue
                                         : generation::WeightSwapPolicy::kContinue;
  auto& sampling = answer_options_.sampling;
  sampling.max_new_tokens = static_cast<int>(g.max_completion_tokens);
  sampling.temperature = g.temperature;
  sampling.top_p = g.top_p;
  sampling.top_k = static_cast<int>(g.top_k);
  sampling.stop_token_ids = text::StopTokenIds(policy_->config().eos_token_ids, *tokenizer_);
  PRLM_REQUIRE(!sampling.stop_token_ids.empty(),
               "rollout: the policy names no EOS token and its tokenizer has no <|im_end|> / <|endoftext|>");
  if (config_.simulate.enabled) {
    const config::SimulateConfig& s = config_.simulate;
    answer_options_.simulate =
        rollout::SimulatedGeneration{s.completion_tokens, s.prefill_tokens_per_s, s.decode_tokens_per_s,
                                     s.decode_step_s,     s.long_tail_fraction,   s.long_tail_factor};
    spdlog::info("rollout: simulate.enabled: no model runs; {}-token completions at {} tokens/s", s.completion_tokens,
                 s.decode_tokens_per_s);
  }
}

proto::RolloutResult RolloutWorker::Run(const proto::RolloutWork& work) {
  PRLM_REQUIRE(work.prompts_size() > 0, "rollout: step " << work.step() << " came with no prompts");
  proto::RolloutResult result;
  result.set_step(work.step());
  result.set_weight_version(weight_version_);

  // sft: each prompt's target instead of samples (no seeds: nothing is generated).
  const int samples = work.prompts_only() ? 0 : static_cast<int>(config_.grpo.group_size);
  const uint64_t step_seed =
      generation::SampleSeed(static_cast<uint64_t>(config_.trainer.seed), static_cast<uint64_t>(work.step()), 0);
  std::vector<rollout::Question> questions;
  for (const auto& p : work.prompts()) {
    rollout::Question q{p.user_id(), p.query(), p.input(), p.gold(), {}};
    for (int g = 0; g < samples; ++g) q.sample_seeds.push_back(generation::SampleSeed(step_seed, p.index(), g));
    questions.push_back(std::move(q));
  }
  // 1-2. Profiles, prompts, G samples per prompt in one batch; with a weight
  // feed, newer weights join between decode steps.
  answer_options_.weight_version = weight_version_;
  answer_options_.between_steps = nullptr;
  if (feed_)
    answer_options_.between_steps = [this](generation::Engine& engine) {
      const int64_t v = feed_(weight_version_);
      if (v <= weight_version_) return;
      engine.UpdateWeights(v, {});  // the parameters changed in place: K/V recomputed or samples restarted
      weight_version_ = v;
    };
  rollout::AnswerTimes times;
  const auto answers =
      rollout::AnswerQuestions(policy_, *tokenizer_, retriever_, *template_, questions, answer_options_, &times);
  result.set_retrieval_s(times.retrieval_s);
  for (int i = 0; i < work.prompts_size(); ++i) {
    auto* group = result.add_groups();
    group->set_index(work.prompts(i).index());
    const rollout::Answer& a = answers[static_cast<size_t>(i)];
    if (!a.error.empty()) {
      group->set_error(a.error);
      continue;
    }
    group->mutable_prompt()->Add(a.prompt.begin(), a.prompt.end());
    group->set_items_used(a.items_used);
    if (work.prompts_only()) {
      const auto& p = work.prompts(i);
      const std::string& tmpl = p.reasoning().empty() ? config_.grpo.sft_template : config_.grpo.sft_reasoning_template;
      auto ids = tokenizer_->Encode(SftTarget(tmpl, p.gold(), p.reasoning()));
      ids.push_back(answer_options_.sampling.stop_token_ids.front());
      auto* sample = group->add_samples();
      sample->mutable_tokens()->Add(ids.begin(), ids.end());
      sample->set_stopped(true);
    }
  }
  if (work.prompts_only()) return result;
  result.set_generation_s(times.generation_s);
  result.set_prefill_tokens(times.generation.prefill_tokens);
  result.set_decode_tokens(times.generation.decode_tokens);

  // 3. Score every sample in one request.
  const auto t0 = util::Clock::now();
  proto::ScoreRequest request =
      rollout::ScoreRequestFor(template_->task, questions, answers, /*include_unasked=*/false);
  if (request.items_size() == 0) return result;
  request.set_timeout_ms(static_cast<uint32_t>(config_.reward.timeout_ms));
  const proto::ScoreReply reply = score_(request);
  PRLM_REQUIRE(reply.status() == proto::ScoreReply::OK,
               "rollout: step " << work.step() << ": the reward tier answered "
                                << proto::ScoreReply::Status_Name(reply.status()) << ": " << reply.error());
  PRLM_REQUIRE(reply.items_size() == request.items_size(), "rollout: the reward tier returned "
                                                               << reply.items_size() << " scores for "
                                                               << request.items_size() << " samples");
  result.set_reward_s(util::Seconds(t0));
  result.set_reward_queue_depth(static_cast<int64_t>(reply.queued_sequences()));

  // 4. Report.
  int scored = 0;
  for (size_t i = 0; i < answers.size(); ++i) {
    auto* group = result.mutable_groups(static_cast<int>(i));
    for (const auto& c : answers[i].completions) {
      const auto& s = reply.items(scored++);
      auto* sample = group->add_samples();
      sample->mutable_tokens()->Add(c.tokens.begin(), c.tokens.end());
      sample->mutable_logprobs()->Add(c.logprobs.begin(), c.logprobs.end());
      // Per-token versions only when a weight update reached the sample.
      if (std::any_of(c.versions.begin(), c.versions.end(), [&](int64_t v) { return v != result.weight_version(); }))
        sample->mutable_versions()->Add(c.versions.begin(), c.versions.end());
      sample->set_stopped(c.stopped);
      sample->set_reward(s.reward());
      *sample->mutable_components() = s.components();
    }
  }
  return result;
}

}  // namespace prlm::rollout_workers
