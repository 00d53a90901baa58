#!/usr/bin/env bash
# ROPG's benchmarks, on a run directory that launch/ropg wrote:
#  1. feedback utilities per second, collect-feedback with 1 vs 2 ranks on
#     the same test questions (the same utilities; the ratio is the speed-up);
#  2. a shard's index refresh (re-embedding its profiles with the ROPG-KD
#     encoder): its time alone and under load, and query p50/p99 during the
#     refresh against idle (prlm bench retrieval --refresh-encoder).
# usage: bench/ropg.sh RUN_DIR [QUESTIONS]   (default 64 questions)
set -euo pipefail
cd "$(dirname "$0")/.."
RUN=${1:?usage: bench/ropg.sh RUN_DIR [QUESTIONS]}
N=${2:-64}
P=build/prlm
MPI=(mpirun --oversubscribe)
[[ $(id -u) == 0 ]] && MPI=(mpirun --allow-run-as-root --oversubscribe)
POLICY="$RUN/sft/checkpoints/$(ls "$RUN/sft/checkpoints" | tail -n1)/policy"
OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
FEEDBACK=(--model "$POLICY" --data "$RUN/data" --split test --limit "$N" --retriever bm25 --k 20
          --max-prompt-tokens 768 --max-new-tokens 80 --threads 1)

echo "== feedback: $N test questions x 20 candidates, 1 rank vs 2 ranks"
for R in 1 2; do
  t0=$(date +%s.%N)
  "${MPI[@]}" -np $R $P collect-feedback "${FEEDBACK[@]}" --out "$OUT/feedback$R.jsonl" 2> /dev/null
  echo "$(date +%s.%N) $t0" > "$OUT/time$R"
done
cmp -s "$OUT/feedback1.jsonl" "$OUT/feedback2.jsonl" && echo "the two files are identical" \
  || echo "THE TWO FILES DIFFER"
python3 - "$OUT" $(( N * 20 )) <<'PY'
import sys
out, u = sys.argv[1], int(sys.argv[2])
s = {r: (lambda a, b: a - b)(*map(float, open(f"{out}/time{r}").read().split())) for r in (1, 2)}
print(f"1 rank: {s[1]:.1f} s, {u / s[1]:.1f} utilities/s; 2 ranks: {s[2]:.1f} s, {u / s[2]:.1f} utilities/s; "
      f"speed-up {s[1] / s[2]:.2f}x")
PY

echo "== refresh: one shard of every user, untrained encoder -> ROPG-KD"
$P build-index --data "$RUN/data" --retriever dense --encoder "$RUN/bert_init" --out "$OUT/index" > /dev/null
$P bench retrieval --index "$OUT/index" --clients 4 --seconds 3 --refresh-encoder "$RUN/ropg_kd" \
  | grep -E "^refresh|clients:|shard 0"
