// Reference token ids (and decoded text) from Hugging Face's own JavaScript
// tokenizers, in the format of `prlm tokenize`.
// usage: node encode.mjs TOKENIZER_JSON TOKENIZER_CONFIG_JSON INPUT_TXT OUT_PREFIX [--add-special-tokens]
// The tokenizer_config.json sets decode's clean_up_tokenization_spaces as the
// model ships it.
// Writes OUT_PREFIX.ids.jsonl (one JSON array of ids per input line) and
// OUT_PREFIX.decoded.jsonl (one JSON string per line: decode(ids)).
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "node:fs";

const [tokPath, configPath, inPath, outPrefix, flag] = process.argv.slice(2);
const config = JSON.parse(fs.readFileSync(configPath, "utf8"));
const tok = new Tokenizer(JSON.parse(fs.readFileSync(tokPath, "utf8")), config);
const addSpecial = flag === "--add-special-tokens";
const lines = fs.readFileSync(inPath, "utf8").split("\n");
if (lines.length && lines[lines.length - 1] === "") lines.pop();
const ids = lines.map((l) => tok.encode(l, { add_special_tokens: addSpecial }).ids);
fs.writeFileSync(outPrefix + ".ids.jsonl", ids.map((x) => JSON.stringify(x)).join("\n") + "\n");
const decoded = ids.map((x) =>
  JSON.stringify(x.length ? tok.decode(x, { skip_special_tokens: false }) : ""));
fs.writeFileSync(outPrefix + ".decoded.jsonl", decoded.join("\n") + "\n");
