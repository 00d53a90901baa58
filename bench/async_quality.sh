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
#   3. each arm's greedy answers on the test split (prlm eval, two at a
#      time), scored against RAG's (the warm start's) and against k = 1's;
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
#   k2-dec-pr   k2-dec with partial rollouts (grpo.partial_rollouts=continue:
#               a new version joins items in flight between decode steps)
#   k0          on-policy (synchronous)
# An arm may name its own step count, ARM:STEPS (k0:30): it is timed, not evaluated.
# An arm may name another GRPO seed, ARM@SEED (k2-dec@7: trainer.seed=7, from
# the same warm start; it is compared with ARM@SEED's k1, k1@7, when run).
#
# usage: bench/async_quality.sh [RUN_DIR] [STEPS]   (default /tmp/prlm-async-quality, 200)
# One seed per arm (trainer.seed as the demo's, unless @SEED). An arm whose run finished
# and an answer set already written are not redone; delete RUN/grpo-ARM or
# RUN/answers-ARM.row.json to redo them.
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

arm_keys() {  # ARM[@SEED]: the keys that make it
  [[ $1 == *@* ]] && echo "trainer.seed=${1#*@}"
  case ${1%@*} in
    k0) echo grpo.max_staleness=0 ;;
    k1) echo grpo.max_staleness=1 ;;
    k2) echo grpo.max_staleness=2 ;;
    k4) echo grpo.max_staleness=4 ;;
    k2-dec) echo grpo.max_staleness=2 grpo.old_logprobs=recompute ;;
    k4-dec) echo grpo.max_staleness=4 grpo.old_logprobs=recompute ;;
    k2-dec-pr) echo grpo.max_staleness=2 grpo.old_logprobs=recompute grpo.partial_rollouts=continue ;;
    *) echo "bench/async_quality.sh: unknown arm '$1' (k0 k1 k2 k4 k2-dec k4-dec k2-dec-pr)" >&2; return 1 ;;
  esac
}
EVAL=(--data "$RUN/data" --split test --max-prompt-tokens 384 --max-new-tokens 80 --reward-model "$RUN/reward_model"
      --retriever bm25 --k 2 --threads 1)

# 2. Each arm's GRPO run, one after the other (their step times side by side).
ARMS=()
for arm_steps in ${PRLM_ASYNC_ARMS:-k1 k4 k4-dec k2 k2-dec k0}; do
  arm=${arm_steps%%:*} steps=$STEPS
  [[ $arm_steps == *:* ]] && steps=${arm_steps#*:}
  keys=$(arm_keys "$arm")
  ((steps == STEPS)) && ARMS+=("$arm")  # an arm of its own step count is timed, not evaluated
  if grep -qs '"finished"' "$RUN/grpo-$arm/status.json" &&
     [[ $(wc -l < "$RUN/grpo-$arm/metrics.jsonl") == "$steps" ]]; then
    continue
  fi
  say "arm $arm: $steps GRPO steps, $keys"
  rm -rf "$RUN/grpo-$arm"
  # shellcheck disable=SC2086  # keys are words
  "${LOCAL_MPIRUN[@]}" -np 6 $P train --config configs/demo.yaml model.dtype="$(cpu_training_dtype)" \
    data.dir="$RUN/data_rl" model.policy="$SFT" reward.model="$RUN/reward_model" trainer.total_steps="$steps" \
    rollout.elastic=true layout.retrieval=1 layout.reward=1 layout.rollout=2 \
    layout.learners=1 trainer.output_dir="$RUN/grpo-$arm" logging.console_every=50 $keys \
    > "$RUN/grpo-$arm.log" 2>&1 || { echo "arm $arm failed: $RUN/grpo-$arm.log" >&2; exit 1; }
done

# 3. Greedy answers on the test split: RAG (the warm start) and each arm,
#    two at a time (one thread each: a model this small decodes no faster on
#    two), then each arm against RAG and against k = 1, paired on the same
#    questions.
answer() {  # NAME POLICY: the answers and their row, RUN/answers-NAME.{json,row.json}
  [[ -f $RUN/answers-$1.row.json ]] && return 0
  $P eval --model "$2" --name "$1" "${EVAL[@]}" --predictions "$RUN/answers-$1.json" \
    --out "$RUN/answers-$1.row.json.tmp" > "$RUN/answers-$1.log" 2>&1 &&
    mv "$RUN/answers-$1.row.json.tmp" "$RUN/answers-$1.row.json"
}
say "the test split: RAG and ${ARMS[*]}"
names=(rag "${ARMS[@]}")
for ((i = 0; i < ${#names[@]}; i += 2)); do
  pids=()
  for name in "${names[@]:i:2}"; do
    policy=$SFT
    [[ $name == rag ]] || policy=$(newest_policy "$RUN/grpo-$name")
    answer "$name" "$policy" & pids+=($!)
  done
  for pid in "${pids[@]}"; do wait "$pid" || { echo "an eval failed: $RUN/answers-*.log" >&2; exit 1; }; done
done
table() {  # OUT BASELINE NAME...: rows scored from the answers, each against BASELINE
  rm -f "$1"
  $P eval --answers "$RUN/answers-$2.json" --name "$2" "${EVAL[@]}" --out "$1" > /dev/null
  local name
  for name in "${@:3}"; do
    [[ -f $RUN/answers-$name.json && $name != "$2" ]] || continue
    $P eval --answers "$RUN/answers-$name.json" --name "$name" "${EVAL[@]}" --compare "$2" --out "$1" --append > /dev/null
  done
}
table "$RUN/async_eval.json" rag "${ARMS[@]}"
[[ -f $RUN/answers-k1.json ]] && table "$RUN/async_vs_k1.json" k1 "${ARMS[@]}"
# Each other seed's arms against that seed's k1.
for seed in $(printf '%s\n' "${ARMS[@]}" | sed -n 's/.*@//p' | sort -u); do
  [[ -f $RUN/answers-k1@$seed.json ]] || continue
  table "$RUN/async_vs_k1@$seed.json" "k1@$seed" $(printf '%s\n' "${ARMS[@]}" | grep "@$seed\$")
done

# 4. The tables.
python3 - "$RUN" <<'PYEOF'
import glob, json, os, sys
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
        # format and reward need the whole completions: from the model's own eval row
        model_row = json.load(open(f"{run}/answers-{r['name']}.row.json"))[0]
        figure = lambda key, f: format(model_row[key], f) if isinstance(model_row.get(key), (int, float)) else "-"
        print(f"| {r['name']} | {r['n']} | {figure('rouge1', '.4f')} | {figure('format', '.3f')} "
              f"| {figure('reward', '.3f')} | {diff} |")
table(f"{run}/async_eval.json", "Each arm against RAG (the warm start):")
table(f"{run}/async_vs_k1.json", "Each arm's answers against k = 1's:")
for path in sorted(glob.glob(f"{run}/async_vs_k1@*.json")):
    seed = path.rsplit("@", 1)[1][:-len(".json")]
    table(path, f"Seed {seed}: each arm's answers against k1@{seed}'s:")
print("\nThe runs (steps 3..N averaged for time; first and last 20 steps for reward and KL):\n")
print("| arm | steps | step s | steps/hour | staleness mean / max | rollout_corr/kl | ess (min) "
      "| actor/ppo_kl | score, steps 1-20 -> last 20 | kl to reference, last 20 |")
print("|---|---|---|---|---|---|---|---|---|---|")
order = ("k0", "k1", "k2", "k2-dec", "k2-dec-pr", "k4", "k4-dec")
arms = [os.path.basename(d)[len("grpo-"):] for d in glob.glob(f"{run}/grpo-*") if os.path.isdir(d)]
arms.sort(key=lambda a: (a.partition("@")[2], order.index(a.partition("@")[0]) if a.partition("@")[0] in order else 99))
for arm in arms:
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
