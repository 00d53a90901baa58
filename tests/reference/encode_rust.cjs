// Reference token ids from Hugging Face's Rust tokenizers crate (0.22, the
// library transformers uses), through the Node binding @anush008/tokenizers.
// usage: node encode_rust.cjs TOKENIZER_JSON INPUT_TXT OUT_JSONL [--add-special-tokens]
const { Tokenizer } = require("@anush008/tokenizers");
const fs = require("fs");

(async () => {
  const [tokPath, inPath, outPath, flag] = process.argv.slice(2);
  const tok = Tokenizer.fromFile(tokPath);
  const lines = fs.readFileSync(inPath, "utf8").split("\n");
  if (lines.length && lines[lines.length - 1] === "") lines.pop();
  const out = [];
  for (const l of lines) {
    const e = await tok.encode(l, null, { addSpecialTokens: flag === "--add-special-tokens" });
    out.push(JSON.stringify(e.getIds()));
  }
  fs.writeFileSync(outPath, out.join("\n") + "\n");
})().catch((e) => { console.error(e); process.exit(1); });
