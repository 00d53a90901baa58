#include "coordinator/step_plan.h"

#include <algorithm>
#include <map>

#include "common/util/check.h"
#include "coordinator/batch_plan.h"

namespace prlm::coordinator {

namespace {

using monitor::SpreadBuilder;

// A group that could be asked, with the weight version its samples started with.
struct AskedGroup {
  const proto::RolloutGroup* group;
  int64_t version;
};

// The version of a sample's oldest token: the item's, or the first of its
// per-token versions (a partial rollout's only grow).
int64_t OldestVersion(const proto::RolloutSample& s, int64_t item_version) {
  return s.versions().empty() ? item_version : *std::min_element(s.versions().begin(), s.versions().end());
}

// 1. The groups that could be asked and are fresh enough; the others are
// counted and the first skip's reason kept.
std::vector<AskedGroup> AskedGroups(const std::vector<proto::RolloutResult>& results, const StepPlanOptions& o,
                                    StepPlan* plan) {
  std::vector<AskedGroup> asked;
  for (const auto& r : results)
    for (const auto& g : r.groups()) {
      if (!g.error().empty() || g.samples_size() == 0) {
        if (plan->metrics.skipped_questions++ == 0)
          plan->first_skip = "question " + std::to_string(g.index()) + ": " + g.error();
        continue;
      }
      bool fresh = true;
      for (const auto& s : g.samples())
        fresh = fresh &&
                (o.max_staleness < 0 || o.weight_version - OldestVersion(s, r.weight_version()) <= o.max_staleness);
      if (fresh)
        asked.push_back({&g, r.weight_version()});
      else
        plan->metrics.dropped_stale += g.samples_size();
    }
  return asked;
}

// The figures of every sample (kept or not) and of the kept ones.
struct SampleFigures {
  SpreadBuilder response_length, prompt_length, score, advantage, staleness, kept_score;
  std::map<std::string, SpreadBuilder> components;
  int64_t clipped = 0, tokens = 0, partial = 0;
};

// 3. One training sequence per kept sample.
std::vector<proto::TrainSequence> Sequences(const std::vector<AskedGroup>& groups, const objective::Advantages& adv,
                                            int64_t weight_version, SampleFigures* f) {
  std::vector<proto::TrainSequence> sequences;
  for (size_t gi = 0; gi < groups.size(); ++gi) {
    const auto& g = *groups[gi].group;
    f->prompt_length.Add(g.prompt_size());
    for (int si = 0; si < g.samples_size(); ++si) {
      const auto& s = g.samples(si);
      f->score.Add(s.reward());
      f->response_length.Add(s.tokens_size());
      if (!s.stopped()) ++f->clipped;
      for (const auto& c : s.components()) f->components[c.name()].Add(c.value());
      if (!s.versions().empty() && OldestVersion(s, 0) != *std::max_element(s.versions().begin(), s.versions().end()))
        ++f->partial;
      f->tokens += g.prompt_size() + s.tokens_size();
      if (!adv.kept[gi] || (!adv.sample_kept.empty() && !adv.sample_kept[gi][static_cast<size_t>(si)])) continue;
      proto::TrainSequence seq;
      *seq.mutable_prompt() = g.prompt();
      *seq.mutable_completion() = s.tokens();
      *seq.mutable_rollout_logprobs() = s.logprobs();
      seq.set_advantage(adv.values[gi][static_cast<size_t>(si)]);
      f->kept_score.Add(s.reward());
      f->advantage.Add(seq.advantage());
      f->staleness.Add(static_cast<double>(weight_version - OldestVersion(s, groups[gi].version)));
      sequences.push_back(std::move(seq));
    }
  }
  return sequences;
}

// 4. Micro-batches by length, a group's sequences together, dealt to learners
// by token load.
std::vector<proto::LearnStep> Deal(const std::vector<proto::TrainSequence>& sequences, const StepPlanOptions& o,
                                   int64_t* micro_batch_count) {
  std::vector<int64_t> tokens, group_of;
  std::map<std::vector<int32_t>, int64_t> group_of_prompt;  // a group: the sequences of one prompt
  for (const auto& s : sequences) {
    tokens.push_back(s.prompt_size() + s.completion_size());
    const std::vector<int32_t> prompt(s.prompt().begin(), s.prompt().end());
    group_of.push_back(group_of_prompt.emplace(prompt, static_cast<int64_t>(group_of_prompt.size())).first->second);
  }
  const auto micro_batches = PlanMicroBatches(tokens, group_of, o.micro_batch_size);
  std::vector<int64_t> micro_batch_tokens;
  for (const auto& mb : micro_batches) {
    int64_t t = 0;
    for (size_t i : mb) t += tokens[i];
    micro_batch_tokens.push_back(t);
  }
  const auto owner = AssignToLearners(micro_batch_tokens, o.learners);
  std::vector<proto::LearnStep> learn(static_cast<size_t>(o.learners));
  for (auto& l : learn) {
    l.set_step(o.step);
    l.set_global_micro_batches(static_cast<int64_t>(std::max<size_t>(micro_batches.size(), 1)));
    l.set_sync_weights(o.sync_weights);
  }
  for (size_t mb = 0; mb < micro_batches.size(); ++mb) {
    auto* out = learn[static_cast<size_t>(owner[mb])].add_micro_batches();
    for (size_t i : micro_batches[mb]) *out->add_sequences() = sequences[i];
  }
  *micro_batch_count = static_cast<int64_t>(micro_batches.size());
  return learn;
}

// 5. The rollout side of the metrics: rewards when the objective scores
// samples; service retries add up, times and queue depths are the slowest
// worker's.
void RecordRollout(const std::vector<proto::RolloutResult>& results, const objective::Objective& objective,
                   const SampleFigures& f, const objective::Advantages& adv, monitor::StepMetrics* m) {
  if (objective.rollout_product() == objective::RolloutProduct::kScoredSamples) {
    monitor::RewardMetrics r;
    r.score = f.score.Get();
    r.advantages = f.advantage.Get();
    for (const auto& [name, spread] : f.components) r.component_means.emplace_back(name, spread.Get().mean);
    r.frac_reward_zero_std = adv.frac_reward_zero_std;
    if (!adv.sample_kept.empty()) {
      r.kept_score = f.kept_score.Get();
      r.kept = static_cast<int64_t>(f.kept_score.count());
      r.samples = static_cast<int64_t>(f.score.count());
    }
    m->rewards = r;
  }
  m->response_length = f.response_length.Get();
  m->response_clip_ratio =
      static_cast<double>(f.clipped) / static_cast<double>(std::max<size_t>(1, f.response_length.count()));
  m->prompt_length_mean = f.prompt_length.Get().mean;
  m->staleness_mean = f.staleness.Get().mean;
  m->staleness_max = f.staleness.Get().max;
  m->partial_samples = f.partial;
  m->total_num_tokens = f.tokens;
  for (const auto& r : results) {
    m->timing.retrieval = std::max(m->timing.retrieval, r.retrieval_s());
    m->timing.gen = std::max(m->timing.gen, r.generation_s());
    m->timing.reward = std::max(m->timing.reward, r.reward_s());
    m->retrieval_retries += r.retrieval_retries();
    m->reward_retries += r.reward_retries();
    m->reward_failovers += r.reward_servers_failed_size();
    m->retrieval_failovers += r.retrieval_servers_failed_size();
    m->reward_queue_depth = std::max(m->reward_queue_depth, r.reward_queue_depth());
  }
}

}  // namespace

StepPlan PlanStep(const std::vector<proto::RolloutResult>& results, const objective::Objective& objective,
                  const StepPlanOptions& options) {
  std::vector<proto::TrainSequence> sequences;
  StepPlan plan = PlanSequences(results, objective, options, &sequences);
  // 4. Micro-batches per learner; no learning at all when every group was
  // too stale (a step whose kept groups yield no sequence still steps, as before).
  if (!sequences.empty() || plan.metrics.dropped_stale == 0)
    plan.learn = Deal(sequences, options, &plan.metrics.micro_batches);
  return plan;
}

StepPlan PlanKeptSequences(const std::vector<proto::TrainSequence>& sequences, const StepPlanOptions& options) {
  StepPlan plan;
  plan.learn = Deal(sequences, options, &plan.metrics.micro_batches);
  plan.metrics.sequences = static_cast<int64_t>(sequences.size());
  SpreadBuilder length, prompt;
  for (const auto& s : sequences) {
    length.Add(s.completion_size());
    prompt.Add(s.prompt_size());
    plan.metrics.total_num_tokens += s.prompt_size() + s.completion_size();
  }
  plan.metrics.response_length = length.Get();
  plan.metrics.prompt_length_mean = prompt.Get().mean;
  return plan;
}

StepPlan PlanSequences(const std::vector<proto::RolloutResult>& results, const objective::Objective& objective,
                       const StepPlanOptions& options, std::vector<proto::TrainSequence>* sequences) {
  StepPlan plan;
  // 1. The groups that could be asked.
  const std::vector<AskedGroup> groups = AskedGroups(results, options, &plan);
  PRLM_REQUIRE(!groups.empty() || plan.metrics.dropped_stale > 0,
               "step " << options.step << ": no question of the step could be asked; the first: " << plan.first_skip);
  if (groups.empty()) return plan;  // every group too stale: the step learns nothing
  // 2. Their advantages, by the objective.
  objective::ScoredGroups scored;
  for (const auto& g : groups) {
    scored.emplace_back();
    for (const auto& s : g.group->samples()) scored.back().push_back({s.reward(), s.stopped()});
  }
  const objective::Advantages adv = objective.ComputeAdvantages(scored);
  // 3. Sequences.
  SampleFigures figures;
  *sequences = Sequences(groups, adv, options.weight_version, &figures);
  plan.metrics.sequences = static_cast<int64_t>(sequences->size());
  // 5. Metrics.
  RecordRollout(results, objective, figures, adv, &plan.metrics);
  return plan;
}

}  // namespace prlm::coordinator
