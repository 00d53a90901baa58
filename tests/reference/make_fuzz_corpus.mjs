// A deterministic random corpus for tokenizer parity: each line mixes pieces
// drawn from pools of ASCII words, punctuation, digit runs, whitespace runs
// (spaces, tabs, CR, NBSP, ideographic space), CJK, Hangul, Cyrillic, Arabic,
// combining marks, emoji with ZWJ and skin tones, contractions, code, and
// special tokens.
// usage: node make_fuzz_corpus.mjs OUT_TXT [LINES] [SEED]
import fs from "node:fs";

const [out, linesArg, seedArg] = process.argv.slice(2);
let state = BigInt(seedArg || 12345);
function next() {  // splitmix64
  state = (state + 0x9E3779B97F4A7C15n) & 0xFFFFFFFFFFFFFFFFn;
  let z = state;
  z = ((z ^ (z >> 30n)) * 0xBF58476D1CE4E5B9n) & 0xFFFFFFFFFFFFFFFFn;
  z = ((z ^ (z >> 27n)) * 0x94D049BB133111EBn) & 0xFFFFFFFFFFFFFFFFn;
  return Number((z ^ (z >> 31n)) & 0xFFFFFFFn);
}
const pick = (arr) => arr[next() % arr.length];
const pools = [
  ["the", "The", "HELLO", "world", "personalized", "retrieval", "reasoning", "GRPO", "user's", "don't",
   "I'M", "they'll", "we'd", "it's", "naïve", "café", "Straße", "façade"],
  [".", ",", "!", "?", "...", ";", ":", "(", ")", "[", "]", "{", "}", "\"", "'", "-", "--", "—", "/", "\\", "@", "#", "$", "%", "&", "*", "+", "=", "<", ">", "|", "~", "`", "^"],
  ["0", "7", "42", "123", "2025", "3.14", "1,000", "00000", "9999999999", "٣", "１２"],
  [" ", "  ", "   ", "\t", "\t\t", " \t ", "\r", " \r", "\u00a0", "\u3000", "\u2003", "\u200b", "      "],
  ["中文", "分词", "測試", "日本語", "カタカナ", "ひらがな", "한국어", "Русский", "текст", "العربية", "עברית", "ไทย", "हिन्दी"],
  ["e\u0301", "a\u0300", "n\u0303", "\u0308", "o\u0302\u0323"],
  ["😀", "🎉", "👍🏽", "👨‍👩‍👧‍👦", "🇫🇷", "❤️", "✨", "🤖"],
  ["def f(x):", "return x**2", "for (i=0;i<n;++i)", "{'title': 'x'}", "</think>", "<answer>", "a->b", "x==y", "#include <vector>", "std::map<int,int>"],
  ["<|im_start|>", "<|im_end|>", "<|endoftext|>", "[CLS]", "[SEP]", "[MASK]"],
];
const n = Number(linesArg || 1500);
const lines = [];
for (let i = 0; i < n; ++i) {
  let line = "";
  const parts = 1 + (next() % 12);
  for (let p = 0; p < parts; ++p) {
    line += pick(pick(pools));
    if (next() % 3 === 0) line += " ";
  }
  lines.push(line.replace(/\n/g, " "));
}
fs.writeFileSync(out, lines.join("\n") + "\n");
