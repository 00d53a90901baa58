# PrLM's pipeline (arXiv 2508.07342), sourced by launch/recipe from the
# recipes prlm-lamp4, prlm-lamp5 and prlm-lamp7 (TASK set), with what
# launch/recipe defines (run_step, train_step, needs, RUN, DATA, POLICY,
# ENCODER, REWARD_INIT). Where each value comes from: recipes/README.md.
#   index         dense (bge-base-shaped encoder) and BM25 indexes of every profile
#   rm_pairs      the base policy answers each training question with its top-5
#                 profile (chosen) and without (rejected)
#   reward_model  BERT + linear head, Bradley-Terry over those pairs
#   grpo          GRPO with reward 1 x ROUGE + 0.1 x format + 0.1 x sigmoid(RM)
#   eval          greedy on the held-out split: zero-shot, RAG (the base policy
#                 with the top-5 profile) and PrLM, each against the row above
#                 it with a paired bootstrap 95% interval -> RUN/eval.md
STAGES=(index rm_pairs reward_model grpo eval)
PROMPT_TOKENS=512 NEW_TOKENS=768 RM_EPOCHS=3 RM_LIMIT=0 RM_MAX_LENGTH=512 EVAL_LIMIT=0 EVAL_SPLIT=dev

tiny() {  # small models on CPU: few steps, short completions, fp32, a policy that opens <think> itself
  PROMPT_TOKENS=384 NEW_TOKENS=64 RM_EPOCHS=1 RM_LIMIT=16 RM_MAX_LENGTH=64 EVAL_LIMIT=8 OPEN_THINK=()
  TINY_OVERRIDES=(model.dtype=fp32 trainer.total_steps=2 trainer.save_every=1 trainer.prompts_per_step=2
                  grpo.max_prompt_tokens=$PROMPT_TOKENS grpo.max_completion_tokens=$NEW_TOKENS reward.max_length=64
                  lora.rank=4 grpo.open_think=false)
}
OPEN_THINK=(--open-think)  # R1-distilled policies open <think> themselves (recipes/README.md)

check() {
  needs POLICY "the policy's Hugging Face checkpoint"
  needs ENCODER "the dense retriever's BERT encoder, e.g. BAAI/bge-base-en-v1.5"
  needs REWARD_INIT "the reward model's BERT checkpoint, e.g. bert-base-uncased"
  local task
  task=$(data_fact task)
  [[ $task == "$TASK" ]] || die "--data $DATA holds task '${task:-?}', this recipe is for $TASK"
}

RETRIEVAL=(--index "$RUN/index" --retriever dense --encoder "$ENCODER" --k 5)
stage_index() {
  run_step "$RUN/index" prlm build-index --data "$DATA" --retriever bm25,dense --encoder "$ENCODER" \
    --pooling mean --max-length 512 --out "$RUN/index"
}
stage_rm_pairs() {
  run_step "$RUN/rm_pairs.jsonl" prlm make-rm-pairs --policy "$POLICY" --data "$DATA" --split train \
    "${RETRIEVAL[@]}" --max-prompt-tokens "$PROMPT_TOKENS" --max-new-tokens "$NEW_TOKENS" --temperature 0.7 \
    --limit "$RM_LIMIT" "${OPEN_THINK[@]}" --seed 42 --out "$RUN/rm_pairs.jsonl"
}
stage_reward_model() {
  run_step "$RUN/reward_model" prlm train-rm --init "$REWARD_INIT" --pairs "$RUN/rm_pairs.jsonl" \
    --lr 5e-5 --batch-size 64 --epochs "$RM_EPOCHS" --eval-fraction 0.1 --seed 42 --max-length "$RM_MAX_LENGTH" \
    --out "$RUN/reward_model"
}
stage_grpo() {
  train_step "$RUN/grpo" "$ROOT/recipes/prlm/grpo.yaml" model.policy="$POLICY" data.dir="$DATA" \
    retrieval.index="$RUN/index" retrieval.encoder="$ENCODER" reward.model="$RUN/reward_model"
}
# The three rows in one file, written afresh: RUN/eval.json and the table RUN/eval.md.
eval_table() {  # POLICY GRPO_RUN
  local rows=(--data "$DATA" --split "$EVAL_SPLIT" --max-prompt-tokens "$PROMPT_TOKENS" --max-new-tokens "$NEW_TOKENS"
              --reward-model "$RUN/reward_model" --limit "$EVAL_LIMIT" "${OPEN_THINK[@]}" --out "$RUN/eval.json.tmp")
  rm -f "$RUN/eval.json.tmp"
  "$PRLM" eval --model "$1" --name "zero-shot" --zero-shot "${rows[@]}" > /dev/null
  "$PRLM" eval --model "$1" --name "RAG" "${RETRIEVAL[@]}" --compare above "${rows[@]}" --append > /dev/null
  "$PRLM" eval --model "$(newest_policy "$2")" --name "PrLM" "${RETRIEVAL[@]}" --compare above "${rows[@]}" --append \
    > "$RUN/eval.md"
  mv "$RUN/eval.json.tmp" "$RUN/eval.json"
  cat "$RUN/eval.md"
}
stage_eval() {
  run_step "$RUN/eval.json" eval_table "$POLICY" "$RUN/grpo"
}
