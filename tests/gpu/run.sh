#!/usr/bin/env bash
# The GPU checks of issue 14 in one command, on the GPU machine of the device
# tool (CUDA, PyTorch with its libtorch and NCCL, transformers; no Debian
# packages). Prepare once on a Debian 12 machine with tests/gpu/prepare.sh,
# then:
#
#     run(command="tests/gpu/run.sh", carry=["tests/gpu/debs"], timeout_s=540)
#
#  1. facts: GPUs, driver, torch, CUDA, compilers            -> env.txt
#  2. a private prefix from the carried .debs (no install)
#  3. configure and build with PRLM_GPU_CHECKS_ONLY against python's libtorch
#     and the nvidia-nccl wheel
#  4. the model unit tests (prlm_model_tests)                -> unit.xml
#  5. logit parity on cuda, fp32 and bf16, prlm and transformers, against the
#     committed fixtures' fp32 references                    -> parity_*.jsonl
#  6. NCCL all-reduce and weight broadcast under mpirun, one rank per GPU
#     (at most 2; NCCL refuses two ranks on one GPU)         -> collectives.jsonl
#  7. greedy generation tokens/s, prlm against transformers' generate() on
#     the same Qwen2.5-0.5B-shaped model, prompts and batch  -> generate_*.jsonl
#  8. summary.md: every table above
#
# Everything lands in $OUT (default ./gpu-out); each step has a time limit
# and logs to $OUT/STEP.log; a failed step does not stop the later ones.
# The exit status is the number of failed steps. It also runs on a CPU
# machine (TORCH_PREFIX=<libtorch cmake prefix> DEVICE=cpu) for a dry run of
# the build and the CPU paths.
set -uo pipefail
cd "$(dirname "$0")/../.."
ROOT=$PWD
OUT=${OUT:-$ROOT/gpu-out}
mkdir -p "$OUT"
DEVICE=${DEVICE:-cuda}
JOBS=${JOBS:-$(nproc)}
PREFIX=${PREFIX:-/tmp/prlm-gpu-prefix}
BUILD=${BUILD:-$ROOT/build-gpu}
BATCH=${BATCH:-16} PROMPT_LEN=${PROMPT_LEN:-128} NEW_TOKENS=${NEW_TOKENS:-128}
FIXTURES=qwen2-tied,qwen2-untied,qwen2-yarn,qwen3-tied,qwen3-yarn,llama-untied,llama-linear,llama-dynamic,llama-llama3,llama-yarn
: > "$OUT/steps.tsv"
FAILED=0

# step NAME SECONDS COMMAND...: runs COMMAND with stdout+stderr in $OUT/NAME.log.
step() {
  local name=$1 limit=$2
  shift 2
  local start=$SECONDS
  echo "== $name (limit ${limit}s)"
  timeout --kill-after=10 "$limit" "$@" > "$OUT/$name.log" 2>&1
  local rc=$?
  local status=ok
  if [ $rc -ne 0 ]; then status="FAILED (exit $rc)"; FAILED=$((FAILED + 1)); tail -15 "$OUT/$name.log"; fi
  printf '%s\t%s\t%s\n' "$name" "$status" "$((SECONDS - start))" >> "$OUT/steps.tsv"
  echo "   $status, $((SECONDS - start)) s"
}
# JSON lines of a step's log into FILE.
jsonl() { grep '^{' "$OUT/$1.log" > "$OUT/$2.jsonl" || true; }

# 1. Facts.
facts() {
  date -u; uname -a; nproc; free -g | head -2
  nvidia-smi || echo "no nvidia-smi"
  python3 - <<'PY'
import torch
print("torch", torch.__version__, "cuda", torch.version.cuda, "available", torch.cuda.is_available(),
      "devices", torch.cuda.device_count(), "cxx11 abi", torch._C._GLIBCXX_USE_CXX11_ABI)
try:
    import transformers; print("transformers", transformers.__version__)
except Exception as e:
    print("transformers: not importable:", e)
PY
  cmake --version | head -1; ninja --version; c++ --version | head -1; which nvcc && nvcc --version | tail -2
}
export -f facts
step env 60 bash -c facts
cp "$OUT/env.log" "$OUT/env.txt"

# 2. The private prefix.
step prefix 120 python3 tests/gpu/unpack_debs.py tests/gpu/debs "$PREFIX"
P=$PREFIX/usr
LIBS=$P/lib/x86_64-linux-gnu
export OPAL_PREFIX=$P PMIX_MCA_mca_base_component_path=$LIBS/pmix2/lib/pmix
TORCH_PREFIX=${TORCH_PREFIX:-$(python3 -c 'import torch; print(torch.utils.cmake_prefix_path)')}
TORCH_LIB=$(python3 -c 'import torch, os; print(os.path.join(os.path.dirname(torch.__file__), "lib"))' 2>/dev/null)
NCCL_ROOT=${NCCL_ROOT:-$(python3 -c 'import nvidia.nccl, os; print(os.path.dirname(nvidia.nccl.__file__) if nvidia.nccl.__file__ else list(nvidia.nccl.__path__)[0])' 2>/dev/null)}
export LD_LIBRARY_PATH=$LIBS:$LIBS/pmix2/lib:$LIBS/openmpi/lib:${TORCH_LIB:-}:${NCCL_ROOT:+$NCCL_ROOT/lib}:${LD_LIBRARY_PATH:-}
[ -x /usr/local/cuda/bin/nvcc ] && export CUDACXX=${CUDACXX:-/usr/local/cuda/bin/nvcc} PATH=/usr/local/cuda/bin:$PATH
echo "torch cmake prefix: $TORCH_PREFIX; nccl: ${NCCL_ROOT:-none}" | tee -a "$OUT/env.txt"

# 3. Configure and build.
step configure 180 cmake -S . -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=Release -DPRLM_GPU_CHECKS_ONLY=ON \
  -DCMAKE_PREFIX_PATH="$TORCH_PREFIX;$P" -DMPI_CXX_COMPILER="$P/bin/mpicxx.openmpi" -DMPI_CXX_SKIP_MPICXX=ON \
  ${NCCL_ROOT:+-DNCCL_ROOT=$NCCL_ROOT} -DTORCH_CUDA_ARCH_LIST=9.0
step build 300 cmake --build "$BUILD" -j "$JOBS"
BIN=$BUILD/tests/gpu

# 4. Unit tests.
step unit 180 "$BIN/prlm_model_tests" --gtest_output=xml:"$OUT/unit.xml"

# 5. Parity: prlm and transformers on the device, fp32 and bf16.
step parity_prlm_fp32 120 "$BIN/prlm_gpu_checks" parity --fixtures tests/fixtures --names "$FIXTURES" \
  --device "$DEVICE" --dtype fp32 --tol 1e-4
step parity_prlm_bf16 120 "$BIN/prlm_gpu_checks" parity --fixtures tests/fixtures --names "$FIXTURES" \
  --device "$DEVICE" --dtype bf16 --tol 0.5
jsonl parity_prlm_fp32 parity_prlm_fp32; jsonl parity_prlm_bf16 parity_prlm_bf16
if [ "$DEVICE" = cuda ]; then
  step parity_hf_fp32 180 python3 tests/gpu/transformers_gpu.py parity --fixtures tests/fixtures --names "$FIXTURES" --dtype fp32
  step parity_hf_bf16 180 python3 tests/gpu/transformers_gpu.py parity --fixtures tests/fixtures --names "$FIXTURES" --dtype bf16
  jsonl parity_hf_fp32 parity_hf_fp32; jsonl parity_hf_bf16 parity_hf_bf16
fi

# 6. Collectives: one rank per GPU, at most 2.
GPUS=$(python3 -c 'import torch; print(torch.cuda.device_count())' 2>/dev/null || echo 0)
RANKS=$(( GPUS >= 2 ? 2 : 1 ))
[ "$DEVICE" = cpu ] && RANKS=2
step collectives 180 "$P/bin/mpirun.openmpi" --allow-run-as-root --oversubscribe -np "$RANKS" \
  -x LD_LIBRARY_PATH -x OPAL_PREFIX -x PMIX_MCA_mca_base_component_path \
  "$BIN/prlm_collectives_check" --device "$DEVICE" --megabytes $([ "$DEVICE" = cuda ] && echo 256 || echo 8)
jsonl collectives collectives

# 7. Generation, side by side on one model and one batch.
if [ "$DEVICE" = cuda ]; then
  MODEL=/tmp/prlm-bench-model
  step make_model 180 python3 tests/gpu/transformers_gpu.py make-model --out "$MODEL" --batch "$BATCH" --prompt-len "$PROMPT_LEN"
  step generate_prlm 180 "$BIN/prlm_gpu_checks" generate --model "$MODEL" --prompts "$MODEL/prompts.json" \
    --batch "$BATCH" --prompt-len "$PROMPT_LEN" --new-tokens "$NEW_TOKENS" --device cuda --dtype bf16 --repeats 3
  step generate_hf 180 python3 tests/gpu/transformers_gpu.py generate --model "$MODEL" --batch "$BATCH" \
    --new-tokens "$NEW_TOKENS" --dtype bf16 --repeats 3
  jsonl generate_prlm generate_prlm; jsonl generate_hf generate_hf
fi

# 8. Summary.
python3 tests/gpu/transformers_gpu.py summarize "$OUT" || FAILED=$((FAILED + 1))
echo "failed steps: $FAILED"
exit "$FAILED"
