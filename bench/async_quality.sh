#!/usr/bin/env bash
# Does asynchronous GRPO hold the demo's quality? The demo's GRPO stage run
# at grpo.max_staleness k = 0, 1, 2, 4, with and without the off-policy
# correction, each from the same warm start, then PrLM - RAG on the demo's
# 640 held-out test questions (paired bootstrap 95% intervals) and each
# arm's answers against k = 1's (the demo's setting).
#
#   1. the warm start: launch/demo's stages 1-5 (data, tokenizer, sft
#      curriculum, reward model), PRLM_DEMO_STOP_AFTER=5; kept in RUN and
#      reused when present;
#   2. each arm: the demo's GRPO command (configs/demo.yaml, STEPS steps) on
#      the elastic tier (k >= 2 needs it; every arm runs there so that only
#      the named keys differ): 6 ranks, coordinator, retrieval, reward, 2
#      rollout workers, 1 learner (each step's 8 questions in two work items);
#   3. each arm's greedy answers on the test split against RAG (the warm
#      start), then against k = 1's answers;
#   4. the tables: quality, and per arm the step time, staleness, the
#      rollout/learner mismatch and the reward and KL over the run.
#
# The arms (PRLM_ASYNC_ARMS picks and orders them; default all, in this order):
#   k1          the demo's setting: one step off, the sampler's log-probs as
#               the old policy's (the ratio and clip around the sampler;
#               grpo.off_policy auto = none)
#   k4, k2      the same at k = 4, 2: no correction (AReaL's "naive PPO")
#   k4-dec, k2-dec  decoupled PPO (grpo.old_logprobs=recompute, so auto =
#               decoupled: clip around the learner's pre-update policy, the
#               sampler's tokens weighted by pi_prox / pi_behav, cap 5)
#   k0          on-policy (synchronous)
# An arm may name its own step count, ARM:STEPS (k0:30): it is timed, not evaluated.
#
# usage: bench/async_quality.sh [RUN_DIR] [STEPS]   (default /tmp/prlm-async-quality, 200)
# One seed per arm (trainer.seed as the demo's). An arm whose eval rows
# exist is not rerun; delete RUN/grpo-ARM to rerun it.
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/lib.sh
RUN=${1:-/tmp/prlm-async-quality}
STEPS=${2:-200}
P=build/prlm

# 1. The warm start.
if [[ ! -d $RUN/reward_model ]]; then
  PRLM_DEMO_STOP_AFTER=5 launch/demo "$RUN"
fi
SFT=$(newest_policy "$RUN/sft")

arm_keys() {  # ARM: the keys that make it
  case $1 in
    k0) echo grpo.max_staleness=0 ;;
    k1) echo grpo.max_staleness=1 ;;
    k2) echo grpo.max_staleness=2 ;;
    k4) echo grpo.max_staleness=4 ;;
    k2-dec) echo grpo.max_staleness=2 grpo.old_logprobs=recompute ;;
    k4-dec) echo grpo.max_staleness=4 grpo.old_logprobs=recompute ;;
    *) echo "bench/async_quality.sh: unknown arm '$1' (k0 k1 k2 k4 k2-dec k4-dec)" >&2; return 1 ;;
  esac
}
EVAL=(--data "$RUN/data" --split test --max-prompt-tokens 384 --max-new-tokens 80 --reward-model "$RUN/reward_model"
      --retriever bm25 --k 2)
if [[ ! -f $RUN/async_eval.json ]]; then
  say "RAG (the warm start) on the test split"
  $P eval --model "$SFT" --name "RAG (sft)" "${EVAL[@]}" --predictions "$RUN/rag_answers.json" \
    --out "$RUN/async_eval.json" > /dev/null
fi

for arm_steps in ${PRLM_ASYNC_ARMS:-k1 k4 k4-dec k2 k2-dec k0}; do
  arm=${arm_steps%%:*} steps=$STEPS
  [[ $arm_steps == *:* ]] && steps=${arm_steps#*:}
  keys=$(arm_keys "$arm")
  evaluated=$(grep -c "\"PrLM $arm\"" "$RUN/async_eval.json" || true)
  if grep -qs '"finished"' "$RUN/grpo-$arm/status.json" && { ((evaluated)) || ((steps != STEPS)); }; then
    continue
  fi
  # 2. The arm's GRPO run.
  say "arm $arm: $steps GRPO steps, $keys"
  rm -rf "$RUN/grpo-$arm"
  # shellcheck disable=SC2086  # keys are words
  "${LOCAL_MPIRUN[@]}" -np 6 $P train --config configs/demo.yaml model.dtype="$(cpu_training_dtype)" \
    data.dir="$RUN/data_rl" model.policy="$SFT" reward.model="$RUN/reward_model" trainer.total_steps="$steps" \
    rollout.elastic=true layout.retrieval=1 layout.reward=1 layout.rollout=2 \
    layout.learners=1 trainer.output_dir="$RUN/grpo-$arm" logging.console_every=50 $keys \
    > "$RUN/grpo-$arm.log" 2>&1 || { echo "arm $arm failed: $RUN/grpo-$arm.log" >&2; exit 1; }
  # 3. Its answers against RAG's (an arm of its own step count is timed only).
  ((steps == STEPS)) || continue
  say "arm $arm: the test split"
  $P eval --model "$(newest_policy "$RUN/grpo-$arm")" --name "PrLM $arm" "${EVAL[@]}" --compare "RAG (sft)" \
    --predictions "$RUN/answers-$arm.json" --out "$RUN/async_eval.json" --append > /dev/null
done

# 3. (cont.) Every arm's answers against k = 1's, paired on the same questions.
rm -f "$RUN/async_vs_k1.json"
if [[ -f $RUN/answers-k1.json ]]; then
  $P eval --answers "$RUN/answers-k1.json" --name "k1" "${EVAL[@]}" --out "$RUN/async_vs_k1.json" > /dev/null
  for arm in k0 k2 k2-dec k4 k4-dec; do
    [[ -f $RUN/answers-$arm.json ]] || continue
    $P eval --answers "$RUN/answers-$arm.json" --name "$arm" "${EVAL[@]}" --compare k1 \
      --out "$RUN/async_vs_k1.json" --append > /dev/null
  done
fi

# 4. The tables.
python3 - "$RUN" <<'PYEOF'
import json, os, sys
run = sys.argv[1]
def table(path, title):
    if not os.path.exists(path):
        return
    print(f"\n{title}\n")
    print("| row | n | ROUGE-1 | format | reward | ROUGE-1 difference, paired 95% interval |")
    print("|---|---|---|---|---|---|")
    for r in json.load(open(path)):
        d = r.get("compare")
        m = d["metrics"]["rouge1"] if d else None
        diff = f"{m['difference']:+.4f} [{m['low']:+.4f}, {m['high']:+.4f}] vs {d['against']}" if d else ""
        figure = lambda key, f: format(r[key], f) if isinstance(r.get(key), (int, float)) else "-"
        print(f"| {r['name']} | {r['n']} | {figure('rouge1', '.4f')} | {figure('format', '.3f')} "
              f"| {figure('reward', '.3f')} | {diff} |")
table(f"{run}/async_eval.json", "Each arm against RAG (the warm start):")
table(f"{run}/async_vs_k1.json", "Each arm's answers against k = 1's:")
print("\nThe runs (steps 3..N averaged for time; first and last 20 steps for reward and KL):\n")
print("| arm | steps | step s | steps/hour | staleness mean / max | rollout_corr/kl | ess (min) "
      "| actor/ppo_kl | score, steps 1-20 -> last 20 | kl to reference, last 20 |")
print("|---|---|---|---|---|---|---|---|---|---|")
for arm in ("k0", "k1", "k2", "k2-dec", "k4", "k4-dec"):
    path = f"{run}/grpo-{arm}/metrics.jsonl"
    if not os.path.exists(path):
        continue
    rows = [json.loads(l) for l in open(path)]
    mean = lambda rs, key: sum(r[key] for r in rs) / len(rs)
    step = mean(rows[2:], "timing_s/step")
    print(f"| {arm} | {len(rows)} | {step:.2f} | {3600 / step:.0f} "
          f"| {mean(rows, 'rollout/staleness/mean'):.2f} / {max(r['rollout/staleness/max'] for r in rows):.0f} "
          f"| {mean(rows, 'rollout_corr/kl'):.2e} | {mean(rows, 'rollout_corr/ess'):.4f} "
          f"({min(r['rollout_corr/ess'] for r in rows):.4f}) | {mean(rows, 'actor/ppo_kl'):.2e} "
          f"| {mean(rows[:20], 'critic/score/mean'):.3f} -> {mean(rows[-20:], 'critic/score/mean'):.3f} "
          f"| {mean(rows[-20:], 'actor/kl_loss'):.4f} |")
PYEOF
