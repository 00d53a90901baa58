// Baseline for `prlm bench tokenizer`: Hugging Face's Rust tokenizers crate
// (through the Node binding @anush008/tokenizers) encoding every line of a
// file with encodeBatch (the crate's own parallel batch path); best of N runs,
// MB/s of input bytes.
// usage: node bench_encode_rust.cjs TOKENIZER_JSON INPUT_TXT [REPEAT]
const { Tokenizer } = require("@anush008/tokenizers");
const fs = require("fs");

(async () => {
  const [tokPath, inPath, repeatArg] = process.argv.slice(2);
  const tok = Tokenizer.fromFile(tokPath);
  const buf = fs.readFileSync(inPath);
  const lines = buf.toString("utf8").split("\n");
  let best = Infinity, tokens = 0;
  for (let r = 0; r < Number(repeatArg || 3); ++r) {
    const t0 = process.hrtime.bigint();
    const encs = await tok.encodeBatch(lines, { addSpecialTokens: false });
    tokens = encs.reduce((n, e) => n + e.getIds().length, 0);
    best = Math.min(best, Number(process.hrtime.bigint() - t0) / 1e9);
  }
  console.log(JSON.stringify({ bench: "tokenizer", impl: "tokenizers (Rust crate)", bytes: buf.length,
    lines: lines.length, tokens, seconds: best, mb_per_s: buf.length / best / 1e6 }));
})().catch((e) => { console.error(e); process.exit(1); });
