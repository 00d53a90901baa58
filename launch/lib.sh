# What the launch scripts share (demo, rest-pg, lore-grpo, ropg, sft-curve
# source it after cd-ing to the repository root; run, submit and recipe too).
# Sets `start` (for say) and LOCAL_MPIRUN, an mpirun command line for
# every rank on this machine (append -np N and the program).

start=$(date +%s)
LOCAL_MPIRUN=(mpirun --oversubscribe)
# Open MPI refuses to run as root without being told; set-up runs as root.
[[ $(id -u) == 0 ]] && LOCAL_MPIRUN+=(--allow-run-as-root)

# A stage heading, with the seconds since the script started.
say() { printf '\n== [%4ds] %s\n' "$(( $(date +%s) - start ))" "$*"; }

# The policy of a training run's newest checkpoint: newest_policy RUN_DIR.
newest_policy() { echo "$1/checkpoints/$(ls "$1/checkpoints" | tail -n1)/policy"; }

# The training dtype: PRLM_DEMO_DTYPE if set, else bf16 mixed precision
# where the CPU multiplies bf16 natively (1.3x faster sft steps, 1.5x
# faster GRPO steps on such a CPU, measured in the README; fp32 master
# weights), fp32 elsewhere.
cpu_training_dtype() { echo "${PRLM_DEMO_DTYPE:-$(grep -qw avx512_bf16 /proc/cpuinfo && echo bf16 || echo fp32)}"; }

# Whether a training job fits: prlm plan --brief, each line after PREFIX, on
# stderr. False only when the plan says it does not (exit 3); a config it
# cannot plan yet (a model a job before this one writes) passes, and prlm
# train says what is wrong with a bad one.
plan_fits() {  # PRLM PREFIX PLAN-ARGUMENTS...
  local verdict=0
  "$1" plan --brief "${@:3}" | sed "s|^|$2|" >&2 || verdict=${PIPESTATUS[0]}
  ((verdict != 3))
}

# Waits for a run's launcher (mpirun or srun, process PID) and returns its
# exit status. A rank that meets a fatal error writes status.json "failed"
# and aborts the job; when the launcher still runs GRACE seconds after that
# (Open MPI waits to reach the ranks of a host whose link is down, for as
# long as TCP takes to give up: minutes), it is stopped, TERM then KILL 5 s
# later, so that the job ends and its scheduler can requeue or clean up.
# Only a status.json this launch wrote counts: the one a failed attempt
# left says "failed" until the new rank 0 starts.
wait_launcher() {  # NAME PID STATUS_JSON GRACE
  local name=$1 pid=$2 status=$3 grace=$4 failed_at=0 before
  before=$(cat "$status" 2>/dev/null || true)
  while kill -0 "$pid" 2>/dev/null; do
    ((failed_at > 0)) || ! grep -qs '"state":"failed"' "$status" ||
      [[ "$(cat "$status" 2>/dev/null)" == "$before" ]] || failed_at=$(date +%s)
    if ((failed_at > 0 && $(date +%s) - failed_at >= grace)); then
      echo "$name: the run failed ($status) ${grace} s ago and its launcher still runs (ranks on a lost host cannot be reached): stopping it" >&2
      kill -TERM "$pid" 2>/dev/null
      for _ in {1..50}; do kill -0 "$pid" 2>/dev/null && sleep 0.1; done
      kill -KILL "$pid" 2>/dev/null
      break
    fi
    sleep 1
  done
  wait "$pid"
}
