# recipe: LoRe on a preference set: the low-rank personalized reward model, and the paper's accuracy table against shared and per-user models
# LoRe (arXiv 2504.14439; code facebookresearch/LoRe), sourced by launch/recipe
# with what it defines (run_step, needs, RUN, DATA, ENCODER). --data is a
# directory holding pairs.jsonl (prompt, chosen, rejected, user, split: train,
# test or fewshot; make-synthetic --preferences writes one, with truth.json);
# --encoder the frozen BERT whose phi(prompt, response) LoRe reads. Values and
# their sources: recipes/README.md.
#   lore   the basis V (B = 8 before pruning) and every train user's weights,
#          by the per-user Bradley-Terry loss: RUN/lore, the reward a GRPO
#          job reads with reward.personalization=lore reward.lore=RUN/lore
#   eval   pairwise accuracy of seen users on test prompts and of unseen users
#          after k few-shot pairs: a shared BT model, per-user models and LoRe
#          at each basis size, LoRe against both with paired bootstrap 95%
#          intervals -> RUN/eval.md
STAGES=(lore eval)
BASES=1,2,4,8,16 SHOTS=1,2,5,10,20 BASIS=8 ITERATIONS=400 ADAPT=500 MAX_LENGTH=256

tiny() {  # a tiny BERT and a few iterations
  BASES=1,4 SHOTS=1,4 BASIS=4 ITERATIONS=40 ADAPT=40 MAX_LENGTH=64
}

check() {
  needs ENCODER "the frozen BERT giving phi(prompt, response), e.g. a train-rm reward model"
  [[ -f $DATA/pairs.jsonl ]] || die "--data $DATA has no pairs.jsonl (preference pairs; make-synthetic --preferences writes one)"
}

# [paper]: the logits' scale 100, pruning below 1e-2, a new user's 500 Adam steps at lr 0.1.
# (Built when a stage runs, after --tiny's settings.)
lore_args() {
  LORE=(--embedder "$ENCODER" --pairs "$DATA/pairs.jsonl" --pooling mean --max-length "$MAX_LENGTH"
        --iterations "$ITERATIONS" --scale 100 --prune-below 0.01 --adapt-iterations "$ADAPT" --adapt-lr 0.1 --seed 1)
  [[ -f $DATA/truth.json ]] && TRUTH=(--truth "$DATA/truth.json")
}
TRUTH=()
stage_lore() {
  lore_args
  run_step "$RUN/lore" prlm train-lore "${LORE[@]}" --basis "$BASIS" --out "$RUN/lore"
}
stage_eval() {
  lore_args
  run_step "$RUN/eval.md" prlm eval-lore "${LORE[@]}" "${TRUTH[@]}" --bases "$BASES" --shots "$SHOTS" \
    --compare-basis "$BASIS" --out "$RUN/eval.md"
}
