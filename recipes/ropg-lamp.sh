# recipe: ROPG (RL and KD) and RSPG on a LaMP task: feedback, two retrievers, selection data, two selectors, eval table
# ROPG and RSPG (Salemi, Kallumadi, Zamani, SIGIR'24), sourced by launch/recipe
# with what it defines (run_step, needs, RUN, DATA, POLICY, ENCODER,
# LOCAL_MPIRUN). Values and their sources: recipes/README.md.
#   feedback   the frozen policy answers each training question once per
#              candidate (BM25's top 20 items, each alone in the prompt); the
#              task metric of each answer is that item's utility
#   ropg_kd    the dense retriever learns the utilities' ranking (KL to softmax(u/T))
#   ropg_rl    ... or by REINFORCE against the first candidate's utility
#   selection  the policy's utility with each retriever (none, recency, BM25,
#              dense, ROPG-KD, ROPG-RL) on the training questions
#   rspg       the selectors: before generating (pre) and among the answers (post)
#   eval       greedy on the held-out split, one row per retriever and the
#              selectors, each ROPG row against BM25 and RSPG against ROPG-KD,
#              paired bootstrap 95% intervals -> RUN/eval.md
# Every stage but eval runs under mpirun -np RANKS (data-parallel; RANKS=2).
STAGES=(feedback ropg_kd ropg_rl selection rspg eval)
PROMPT_TOKENS=512 NEW_TOKENS=64 CANDIDATES_K=20 K=1 LR=1e-5 EPOCHS=2 MAX_LENGTH=512 LIMIT=0 EVAL_LIMIT=0
EVAL_SPLIT=dev RANKS=${RANKS:-2}

tiny() {  # small models on CPU: a few questions, short answers, a tiny BERT's learning rate
  PROMPT_TOKENS=400 NEW_TOKENS=16 CANDIDATES_K=5 LR=2e-3 MAX_LENGTH=64 LIMIT=16 EVAL_LIMIT=8
}

check() {
  needs POLICY "the policy's Hugging Face checkpoint"
  needs ENCODER "the dense retriever's BERT encoder to start from, e.g. facebook/contriever"
  local task
  task=$(data_fact task)
  [[ $task == LaMP_* ]] || die "--data $DATA holds task '${task:-?}'; this recipe is for a LaMP task"
}

MPI=("${LOCAL_MPIRUN[@]}" -np "$RANKS")
CANDIDATES="none,recency,bm25,dense=$ENCODER,ropg-kd=$RUN/ropg_kd,ropg-rl=$RUN/ropg_rl"
# Each stage's inputs are its arguments (the stage's hash).
feedback() {  # POLICY DATA
  "${MPI[@]}" "$PRLM" collect-feedback --model "$1" --data "$2" --split train --retriever bm25 --k "$CANDIDATES_K" \
    --max-prompt-tokens "$PROMPT_TOKENS" --max-new-tokens "$NEW_TOKENS" --limit "$LIMIT" --threads 1 \
    --out "$RUN/feedback.jsonl"
}
retriever() {  # MODE FEEDBACK ENCODER
  "${MPI[@]}" "$PRLM" train-retriever --feedback "$2" --init "$3" --mode "$1" --epochs "$EPOCHS" --batch-size 16 \
    --lr "$LR" --max-length "$MAX_LENGTH" --save-every 50 --resume --threads 1 --out "$RUN/ropg_$1"
}
selection() {  # POLICY DATA KD RL
  "${MPI[@]}" "$PRLM" collect-selection --model "$1" --data "$2" --split train --candidates "$CANDIDATES" \
    --max-prompt-tokens "$PROMPT_TOKENS" --max-new-tokens "$NEW_TOKENS" --limit "$LIMIT" --threads 1 \
    --out "$RUN/selection.jsonl"
}
selectors() {  # SELECTION ENCODER
  for variant in pre post; do
    "${MPI[@]}" "$PRLM" train-selector --feedback "$1" --init "$2" --variant "$variant" --epochs "$EPOCHS" \
      --batch-size 16 --lr "$LR" --max-length "$MAX_LENGTH" --threads 1 --out "$RUN/rspg/$variant"
  done
}
stage_feedback() { run_step "$RUN/feedback.jsonl" feedback "$POLICY" "$DATA"; }
stage_ropg_kd() { run_step "$RUN/ropg_kd" retriever kd "$RUN/feedback.jsonl" "$ENCODER"; }
stage_ropg_rl() { run_step "$RUN/ropg_rl" retriever rl "$RUN/feedback.jsonl" "$ENCODER"; }
stage_selection() {
  run_step "$RUN/selection.jsonl" selection "$POLICY" "$DATA" "$RUN/ropg_kd" "$RUN/ropg_rl"
}
stage_rspg() { run_step "$RUN/rspg" selectors "$RUN/selection.jsonl" "$ENCODER"; }
# Every row in one file, written afresh: RUN/eval.json and the table RUN/eval.md.
eval_table() {  # POLICY ROPG_KD ROPG_RL RSPG
  local e=(--model "$1" --data "$DATA" --split "$EVAL_SPLIT" --k "$K" --max-prompt-tokens "$PROMPT_TOKENS"
           --max-new-tokens "$NEW_TOKENS" --limit "$EVAL_LIMIT" --out "$RUN/eval.json.tmp")
  rm -f "$RUN/eval.json.tmp"
  "$PRLM" eval "${e[@]}" --name none --zero-shot > /dev/null
  "$PRLM" eval "${e[@]}" --name recency --retriever recency --append > /dev/null
  "$PRLM" eval "${e[@]}" --name bm25 --retriever bm25 --append > /dev/null
  "$PRLM" eval "${e[@]}" --name dense --retriever dense --encoder "$ENCODER" --append --compare bm25 > /dev/null
  "$PRLM" eval "${e[@]}" --name ropg-kd --retriever dense --encoder "$2" --append --compare bm25 > /dev/null
  "$PRLM" eval "${e[@]}" --name ropg-rl --retriever dense --encoder "$3" --append --compare bm25 > /dev/null
  "$PRLM" eval "${e[@]}" --name rspg --retriever rspg-pre,rspg-post --selector "$4/pre,$4/post" \
    --candidates "$CANDIDATES" --append --compare ropg-kd > "$RUN/eval.md"
  mv "$RUN/eval.json.tmp" "$RUN/eval.json"
  cat "$RUN/eval.md"
}
stage_eval() { run_step "$RUN/eval.json" eval_table "$POLICY" "$RUN/ropg_kd" "$RUN/ropg_rl" "$RUN/rspg"; }
