#!/usr/bin/env bash
# Where a GRPO step's time goes, synchronous (grpo.max_staleness=0) against
# one step off (=1), side by side on this machine, in two workloads of the
# demo's GRPO stage shape (configs/demo.yaml: 8 questions x 8 samples, 5
# ranks: coordinator, retrieval, reward, one rollout worker, one learner):
#   demo       the real models on the demo's data, from a random-init policy
#              of the demo's shape (the demo starts GRPO from an sft warm
#              start, whose completions are 50-70 tokens; these run to the
#              80-token limit more often) and a reward model trained on the
#              oracle pairs alone;
#   long-tail  model compute simulated (simulate.*, docs/scale.md) as on a
#              GPU cluster where generation dominates: 64-token completions,
#              a fifth of them 4x longer, 4,000 tokens/s plus 20 ms per
#              decode step (a batch runs as long as its longest sample), the
#              learner at 20,000 tokens/s.
#   long-tail-elastic  the same on the elastic tier with 3 rollout workers
#              taking one question (8 samples) per work item, at
#              grpo.max_staleness 0, 1, 2 and 4: a worker done with its items
#              takes the next step's while the others finish their long ones.
#
# Per step: rollout busy = timing_s/retrieval + gen + reward (the rollout
# worker's own seconds), learner busy = timing_s/ref + old_log_prob +
# update_actor (the learner's own compute: one step off, the weight
# broadcast waits for the rollout worker to finish the next step's
# generation, so timing_s/learn and sync_weights hold idle time);
# idle = timing_s/step - busy. Steps after the first two are averaged.
#
# usage: bench/step_idle.sh [OUT_DIR] [STEPS]    (default /tmp/prlm-step-idle, 24)
# PRLM_IDLE_RUN="demo long-tail" (the default) names the workloads to run;
# the table reads every workload's runs found in OUT_DIR.
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/lib.sh
OUT=${1:-/tmp/prlm-step-idle}
STEPS=${2:-24}
P=build/prlm
mkdir -p "$OUT"
if [[ ! -d $OUT/reward_model ]]; then
  say "inputs: synthetic users, tokenizer, random policy, reward model"
  $P make-synthetic --task lamp4 --users 224 --dev-users 16 --test-users 80 --questions-per-user 8 --seed 1 \
    --out "$OUT/data" --corpus "$OUT/corpus.txt" --rm-pairs "$OUT/oracle_pairs.jsonl" > /dev/null
  $P make-synthetic --task lamp4 --users 160 --questions-per-user 8 --seed 2 --out "$OUT/data_rl" > /dev/null
  $P train-tokenizer --vocab-size 2048 --out "$OUT/tokenizer" "$OUT/corpus.txt" > /dev/null
  $P init-model --tokenizer "$OUT/tokenizer/tokenizer.json" --out "$OUT/init" --seed 1 \
    num_hidden_layers=4 hidden_size=128 intermediate_size=384 > /dev/null
  $P init-model --arch bert --preset tiny --out "$OUT/rm_init" --seed 1 > /dev/null
  $P train-rm --init "$OUT/rm_init" --pairs "$OUT/oracle_pairs.jsonl" --out "$OUT/reward_model" --lr 1e-3 \
    --batch-size 32 --epochs 1 --max-length 64 --log-every 1000 > /dev/null
fi
LONG_TAIL=(simulate.enabled=true simulate.completion_tokens=64 simulate.long_tail_fraction=0.2
  simulate.long_tail_factor=4 simulate.decode_tokens_per_s=4000 simulate.decode_step_s=0.02
  simulate.learn_tokens_per_s=20000)
ELASTIC=(rollout.elastic=true rollout.item_prompts=1 layout.retrieval=1 layout.reward=1 layout.rollout=3
  layout.learners=1)
for variant in ${PRLM_IDLE_RUN:-demo long-tail long-tail-elastic}; do
  extra=() ks="0 1" np=5
  [[ $variant == long-tail ]] && extra=("${LONG_TAIL[@]}")
  [[ $variant == long-tail-elastic ]] && extra=("${LONG_TAIL[@]}" "${ELASTIC[@]}") ks="0 1 2 4" np=7
  for k in $ks; do
    say "$variant: GRPO, grpo.max_staleness=$k, $STEPS steps"
    rm -rf "$OUT/$variant-k$k"
    "${LOCAL_MPIRUN[@]}" -np $np $P train --config configs/demo.yaml model.dtype="$(cpu_training_dtype)" \
      data.dir="$OUT/data_rl" model.policy="$OUT/init" reward.model="$OUT/reward_model" \
      trainer.total_steps="$STEPS" grpo.max_staleness=$k trainer.output_dir="$OUT/$variant-k$k" \
      logging.console_every=1000 "${extra[@]}" > "$OUT/$variant-k$k.log" 2>&1
  done
done
python3 - "$OUT" <<'PYEOF2'
import json, os, sys
out = sys.argv[1]
print("| workload | grpo.max_staleness | step s | rollout busy s | rollout idle s | learner busy s | learner idle s "
      "| completion tokens | steps/hour | vs k = 0 |")
print("|---|---|---|---|---|---|---|---|---|---|")
for variant in ("demo", "long-tail", "long-tail-elastic"):
    base = None
    for k in (0, 1, 2, 4):
        if not os.path.exists(f"{out}/{variant}-k{k}/metrics.jsonl"):
            continue
        rows = [json.loads(l) for l in open(f"{out}/{variant}-k{k}/metrics.jsonl")][2:]
        mean = lambda f: sum(f(r) for r in rows) / len(rows)
        step = mean(lambda r: r["timing_s/step"])
        roll = mean(lambda r: r["timing_s/retrieval"] + r["timing_s/gen"] + r["timing_s/reward"])
        learn = mean(lambda r: r["timing_s/ref"] + r["timing_s/old_log_prob"] + r["timing_s/update_actor"])
        length = mean(lambda r: r["response_length/mean"])
        # One step off the rollout worker never waits: a step's generation
        # spans the step boundary (the next step's, drawn during this one).
        # Elastic: the generation seconds are one work item's, not the step's.
        rollout = "| | |" if variant.endswith("elastic") else f"| {roll:.2f} | {max(0, step - roll):.2f} |"
        print(f"| {variant} | {k} | {step:.2f} {rollout} {learn:.2f} "
              f"| {max(0, step - learn):.2f} "
              f"| {length:.1f} | {3600 / step:.0f} | {base / step if base else 1:.2f}x |")
        base = base or step
print(f"(steps 3..{len(rows) + 2} of each run averaged)")
PYEOF2
