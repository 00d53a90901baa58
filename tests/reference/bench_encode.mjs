// Baseline for `prlm bench tokenizer`: Hugging Face's JavaScript tokenizers
// encoding every line of a file; best of N runs, as MB/s of input bytes.
// usage: node bench_encode.mjs TOKENIZER_JSON INPUT_TXT [REPEAT]
import { Tokenizer } from "@huggingface/tokenizers";
import fs from "node:fs";

const [tokPath, inPath, repeatArg] = process.argv.slice(2);
const tok = new Tokenizer(JSON.parse(fs.readFileSync(tokPath, "utf8")), {});
const buf = fs.readFileSync(inPath);
const lines = buf.toString("utf8").split("\n");
let best = Infinity, tokens = 0;
for (let r = 0; r < Number(repeatArg || 3); ++r) {
  const t0 = process.hrtime.bigint();
  tokens = 0;
  for (const l of lines) tokens += tok.encode(l, { add_special_tokens: false }).ids.length;
  best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
}
console.log(JSON.stringify({ bench: "tokenizer", impl: "@huggingface/tokenizers", bytes: buf.length,
  lines: lines.length, tokens, seconds: best, mb_per_s: buf.length / best / 1e6 }));
