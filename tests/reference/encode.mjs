// Reference token ids from Hugging Face's own JavaScript tokenizers.
// usage: node encode.mjs TOKENIZER_JSON INPUT_TXT OUTPUT_JSONL [--add-special-tokens]
// Writes one JSON array of ids per input line, the format of `prlm tokenize`.
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "node:fs";

const [tokPath, inPath, outPath, flag] = process.argv.slice(2);
const json = JSON.parse(fs.readFileSync(tokPath, "utf8"));
const tok = new Tokenizer(json, {});
const addSpecial = flag === "--add-special-tokens";
const text = fs.readFileSync(inPath, "utf8");
const lines = text.split("\n");
if (lines.length && lines[lines.length - 1] === "") lines.pop();
const out = lines.map((l) =>
  JSON.stringify(tok.encode(l, { add_special_tokens: addSpecial }).ids));
fs.writeFileSync(outPath, out.join("\n") + "\n");
