# recipe: REST-PG on LongLaMP (product_review, abstract_generation or topic_writing): index, reasoning paths, sft, EM self-training, eval table
# REST-PG (arXiv 2501.04167), sourced by launch/recipe with what it defines
# (run_step, train_step, needs, RUN, DATA, POLICY, TEACHER). Values and their
# sources: recipes/README.md and recipes/rest-pg/train.yaml.
#   index      a BM25 index of every profile
#   reasoning  the teacher writes a reasoning path for each training question
#              from the question, its retrieved profile and the expected output
#   sft        the policy learns question + profile -> reasoning + output
#   rest       EM iterations: sample candidates, keep the best above 0 by the
#              similarity reward, fine-tune on them (grpo.objective=rest)
#   eval       greedy on the held-out split: RAG (the base policy), sft, and
#              REST-PG, each against the row above with a paired bootstrap 95%
#              interval -> RUN/eval.md
STAGES=(index reasoning sft rest eval)
PROMPT_TOKENS=1024 NEW_TOKENS=512 REASON_TOKENS=512 EVAL_LIMIT=0 EVAL_SPLIT=dev K=5 WRITER=teacher

tiny() {  # small models on CPU, fp32; synthetic data's oracle writes the paths; enough sft to answer at all
  NEW_TOKENS=160 REASON_TOKENS=160 EVAL_LIMIT=8 WRITER=oracle
  TINY_OVERRIDES=(model.dtype=fp32 grpo.max_prompt_tokens=$PROMPT_TOKENS grpo.max_completion_tokens=$NEW_TOKENS
                  grpo.group_size=2 rest.iterations=1 rest.update_steps=2 rest.keep_truncated=true lora.rank=0
                  optim.lr=3e-3 trainer.prompts_per_step=4 trainer.epochs=15 trainer.save_every=5)
}

check() {
  needs POLICY "the policy's Hugging Face checkpoint"
  local task
  task=$(data_fact task)
  [[ " LongLaMP_product_review LongLaMP_abstract_generation LongLaMP_topic_writing " == *" $task "* ]] ||
    die "--data $DATA holds task '${task:-?}'; this recipe is for a LongLaMP task (product_review, abstract_generation, topic_writing)"
}

RETRIEVAL=(--index "$RUN/index" --retriever bm25 --k "$K")
stage_index() {
  run_step "$RUN/index" prlm build-index --data "$DATA" --retriever bm25 --out "$RUN/index"
}
# A path for every training question, or the stage fails (sft refuses a
# file that misses any). Its inputs are its arguments (the stage's hash).
reasoning_paths() {  # DATA WRITER TEACHER INDEX PROMPT_TOKENS NEW_TOKENS
  local teacher=()
  [[ $2 == teacher ]] && teacher=(--teacher "$3" --index "$4" --retriever bm25 --k "$K" --max-prompt-tokens "$5"
                                  --max-new-tokens "$6")
  "$PRLM" make-reasoning --data "$1" --split train --writer "$2" "${teacher[@]}" --out "$RUN/reasoning.jsonl.tmp"
  local questions paths
  questions=$(data_fact examples)
  paths=$(grep -c . "$RUN/reasoning.jsonl.tmp" || true)
  ((paths == questions)) || die "stage reasoning: the teacher wrote $paths paths for $questions training questions" \
    "(make-reasoning's lines above say why; a larger --max-prompt-tokens, or a teacher that answers)"
  mv "$RUN/reasoning.jsonl.tmp" "$RUN/reasoning.jsonl"
}
stage_reasoning() {
  run_step "$RUN/reasoning.jsonl" reasoning_paths "$DATA" "$WRITER" "$TEACHER" "$RUN/index" "$PROMPT_TOKENS" \
    "$REASON_TOKENS"
}
stage_sft() {
  train_step "$RUN/sft" "$ROOT/recipes/rest-pg/train.yaml" model.policy="$POLICY" data.dir="$DATA" \
    retrieval.index="$RUN/index" grpo.objective=sft grpo.sft_reasoning="$RUN/reasoning.jsonl"
}
stage_rest() {
  train_step "$RUN/rest" "$ROOT/recipes/rest-pg/train.yaml" model.policy="$RUN/sft" data.dir="$DATA" \
    retrieval.index="$RUN/index" grpo.objective=rest
}
# The three rows in one file, written afresh: RUN/eval.json and the table RUN/eval.md.
eval_table() {  # POLICY SFT_RUN REST_RUN
  local rows=(--data "$DATA" --split "$EVAL_SPLIT" "${RETRIEVAL[@]}" --max-prompt-tokens "$PROMPT_TOKENS"
              --max-new-tokens "$NEW_TOKENS" --w-acc 0 --w-sim 1 --w-fmt 0 --limit "$EVAL_LIMIT"
              --out "$RUN/eval.json.tmp")
  rm -f "$RUN/eval.json.tmp"
  "$PRLM" eval --model "$1" --name "RAG" "${rows[@]}" > /dev/null
  "$PRLM" eval --model "$(newest_policy "$2")" --name "sft" --compare above "${rows[@]}" --append > /dev/null
  "$PRLM" eval --model "$(newest_policy "$3")" --name "REST-PG" --compare above "${rows[@]}" --append \
    > "$RUN/eval.md"
  mv "$RUN/eval.json.tmp" "$RUN/eval.json"
  cat "$RUN/eval.md"
}
stage_eval() {
  run_step "$RUN/eval.json" eval_table "$POLICY" "$RUN/sft" "$RUN/rest"
}
