// Reference renderings of chat templates with @huggingface/jinja (the engine
// transformers.js uses), for the same rows render_chat_templates.py writes
// with Jinja2: reads its output (template, conversation, flags) and writes
// the same rows with this engine's "text" or "error".
// usage: node render_chat_templates_hf.mjs CONVERSATIONS.json JINJA2_ROWS.jsonl OUT.jsonl NAME=TOKENIZER_CONFIG.json...
import { Template } from "@huggingface/jinja";
import fs from "node:fs";

const [conversationsPath, rowsPath, outPath, ...specs] = process.argv.slice(2);
const conversations = Object.fromEntries(JSON.parse(fs.readFileSync(conversationsPath, "utf8")).map((c) => [c.name, c]));
const token = (v) => (v && typeof v === "object" ? v.content : v);
const templates = {};
for (const spec of specs) {
  const [name, path] = spec.split(/=(.*)/s);
  const config = JSON.parse(fs.readFileSync(path, "utf8"));
  const specials = {};
  for (const k of ["bos_token", "eos_token", "unk_token", "pad_token", "sep_token", "cls_token", "mask_token"])
    if (k in config && token(config[k]) != null) specials[k] = token(config[k]);
  templates[name] = { template: new Template(config.chat_template), specials };
}
const out = [];
for (const line of fs.readFileSync(rowsPath, "utf8").split("\n")) {
  if (!line) continue;
  const row = JSON.parse(line);
  const { template, specials } = templates[row.template];
  // raise_exception is one of the engine's own globals.
  const conv = conversations[row.conversation];
  const ctx = { ...specials, messages: conv.messages, add_generation_prompt: row.add_generation_prompt };
  if (conv.tools) ctx.tools = conv.tools;
  if (row.enable_thinking !== null) ctx.enable_thinking = row.enable_thinking;
  const result = { template: row.template, conversation: row.conversation, add_generation_prompt: row.add_generation_prompt,
                   enable_thinking: row.enable_thinking };
  try {
    result.text = template.render(ctx);
  } catch (e) {
    result.error = String(e.message);
  }
  out.push(JSON.stringify(result));
}
fs.writeFileSync(outPath, out.join("\n") + "\n");
