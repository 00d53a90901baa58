#!/usr/bin/env bash
# Weight sync bytes and seconds per step on the elastic tier, full against
# delta (rollout.delta_sync: only the 16-bit words that changed since the
# version a worker holds; common/comm/weight_delta.h), side by side on this
# machine, for two policies: the demo's shape (4 layers, hidden 128) and the
# small preset (10 layers, hidden 384, about 25M parameters).
# The steps are sft steps of the demo's job (configs/demo.yaml, 2 rollout
# workers, one step off): real AdamW updates at a given learning rate, which
# is what sets how many words change. GRPO from a random policy would not
# do: every sample scores 0, the gradient is 0 and nothing changes (deltas
# of 0 bytes). Learning rates: 3e-3 (the demo's sft), 5e-4 (the demo's
# GRPO), 1e-6 (verl's GRPO actor default, the regime of LLM RL). In the
# machine's training dtype (PRLM_DEMO_DTYPE to force one: bf16 syncs bf16
# words).
# Per version after the first: the bytes a worker fetched and the seconds
# the fetch took (the workers' "weights vN" log lines), averaged.
#
# usage: bench/delta_sync.sh [OUT_DIR] [STEPS]    (default /tmp/prlm-delta-sync, 6)
# PRLM_SYNC_MODELS="demo small" (the default) names the policies to run.
set -euo pipefail
cd "$(dirname "$0")/.."
source launch/lib.sh
OUT=${1:-/tmp/prlm-delta-sync}
STEPS=${2:-6}
P=build/prlm
mkdir -p "$OUT"
if [[ ! -d $OUT/reward_model ]]; then
  say "inputs: synthetic users, tokenizer, two policies, reward model"
  $P make-synthetic --task lamp4 --users 64 --questions-per-user 8 --seed 1 \
    --out "$OUT/data" --corpus "$OUT/corpus.txt" --rm-pairs "$OUT/oracle_pairs.jsonl" > /dev/null
  $P train-tokenizer --vocab-size 2048 --out "$OUT/tokenizer" "$OUT/corpus.txt" > /dev/null
  $P init-model --tokenizer "$OUT/tokenizer/tokenizer.json" --out "$OUT/demo" --seed 1 \
    num_hidden_layers=4 hidden_size=128 intermediate_size=384 > /dev/null
  $P init-model --tokenizer "$OUT/tokenizer/tokenizer.json" --preset small --out "$OUT/small" --seed 1 > /dev/null
  $P init-model --arch bert --preset tiny --out "$OUT/rm_init" --seed 1 > /dev/null
  $P train-rm --init "$OUT/rm_init" --pairs "$OUT/oracle_pairs.jsonl" --out "$OUT/reward_model" --lr 1e-3 \
    --batch-size 32 --epochs 1 --max-length 64 --log-every 1000 > /dev/null
fi
DTYPE=$(cpu_training_dtype)
for model in ${PRLM_SYNC_MODELS:-demo small}; do
  for lr in 3e-3 5e-4 1e-6; do
    for delta in false true; do
      run=$model-lr$lr-delta-$delta
      say "$model: $STEPS sft steps at lr $lr, rollout.delta_sync=$delta ($DTYPE)"
      rm -rf "$OUT/$run"
      "${LOCAL_MPIRUN[@]}" -np 6 $P train --config configs/demo.yaml model.dtype="$DTYPE" \
        data.dir="$OUT/data" model.policy="$OUT/$model" reward.model="$OUT/reward_model" \
        grpo.objective=sft optim.lr=$lr optim.warmup_ratio=0 trainer.total_steps="$STEPS" \
        grpo.max_staleness=1 rollout.elastic=true rollout.delta_sync=$delta \
        layout.retrieval=1 layout.reward=1 layout.rollout=2 layout.learners=1 \
        trainer.output_dir="$OUT/$run" logging.console_every=1000 > "$OUT/$run.log" 2>&1
    done
  done
done
python3 - "$OUT" "$DTYPE" <<'PYEOF2'
import glob, re, sys
out, dtype = sys.argv[1], sys.argv[2]
line = re.compile(r"\] weights v(\d+): (\d+) bytes from \S+ in ([0-9.]+) s")
print("| policy | lr | sync | versions fetched | bytes per version | seconds per version | bytes vs full |")
print("|---|---|---|---|---|---|---|")
for model in ("demo", "small"):
    for lr in ("3e-3", "5e-4", "1e-6"):
        full = None
        for delta in ("false", "true"):
            rows = []
            for log in glob.glob(f"{out}/{model}-lr{lr}-delta-{delta}/logs/rank-*.log"):
                rows += [(int(v), int(b), float(s)) for v, b, s in line.findall(open(log).read()) if int(v) > 0]
            if not rows:
                continue
            b = sum(r[1] for r in rows) / len(rows)
            s = sum(r[2] for r in rows) / len(rows)
            full = full or b
            print(f"| {model} | {lr} | {'delta' if delta == 'true' else 'full'} | {len(rows)} | {b / 1e6:.3f} MB "
                  f"| {s:.3f} | {b / full:.3f} |")
print(f"(training dtype {dtype}; versions after the first, both workers)")
PYEOF2
