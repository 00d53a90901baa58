#!/usr/bin/env python3
"""The transformers side of tests/gpu/run.sh, on the GPU machine (its python3
has torch and transformers). Each command prints JSON lines like
prlm_gpu_checks, so run.sh can set the two side by side.

  parity     --fixtures DIR --names a,b --dtype fp32|bf16
             transformers' logits for each fixture's inputs on cuda, against
             the fp32 CPU reference in its expected.safetensors.
  make-model --out DIR --batch B --prompt-len P
             a Qwen2.5-0.5B-shaped Qwen2 (random weights, bf16), written with
             save_pretrained, and DIR/prompts.json with B seeded prompts.
  generate   --model DIR --batch B --new-tokens N --dtype bf16 --repeats R
             greedy generate() of exactly N tokens for the prompts, timed as
             prlm_gpu_checks times its own (one warm-up, median of R runs).
  summarize  OUT
             OUT/summary.md from the JSON lines run.sh collected.
"""
import argparse
import json
import os
import statistics
import sys
import time

DTYPES = {"fp32": "float32", "bf16": "bfloat16"}


def load_causal_lm(path, dtype):
    import torch
    from transformers import AutoModelForCausalLM
    torch_dtype = getattr(torch, DTYPES[dtype])
    try:  # transformers 5 names it dtype; 4.x torch_dtype
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch_dtype, attn_implementation="eager")
    except TypeError:
        model = AutoModelForCausalLM.from_pretrained(path, torch_dtype=torch_dtype, attn_implementation="eager")
    return model.to("cuda").eval()


def parity(a):
    import torch
    from safetensors.torch import load_file
    torch.set_grad_enabled(False)
    for name in a.names.split(","):
        d = os.path.join(a.fixtures, name)
        e = load_file(os.path.join(d, "expected.safetensors"))
        ids, mask = e["input_ids"], e["attention_mask"]
        pos = e["position_ids"] if "position_ids" in e else (mask.cumsum(1) - 1).clamp(min=0)
        model = load_causal_lm(d, a.dtype)
        got = model(input_ids=ids.cuda(), attention_mask=mask.cuda(), position_ids=pos.cuda()).logits.float().cpu()
        real = mask.bool().unsqueeze(-1).expand_as(got)
        diff = float((got - e["logits"]).abs().masked_select(real).max())
        print(json.dumps({"check": "parity", "implementation": "transformers", "fixture": name, "device": "cuda",
                          "dtype": a.dtype, "max_abs_diff": diff}), flush=True)


def make_model(a):
    import torch
    from transformers import DecoderConfig, CausalLM
    config = DecoderConfig(vocab_size=151936, hidden_size=896, intermediate_size=4864, num_hidden_layers=24,
                         num_attention_heads=14, num_key_value_heads=2, max_position_embeddings=32768,
                         rope_theta=1000000.0, rms_norm_eps=1e-6, tie_word_embeddings=True,
                         use_sliding_window=False, sliding_window=None)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = CausalLM(config).to(torch.bfloat16)
    model.save_pretrained(a.out, safe_serialization=True)
    g = torch.Generator().manual_seed(1)
    prompts = torch.randint(100, 150000, (a.batch, a.prompt_len), generator=g).tolist()
    with open(os.path.join(a.out, "prompts.json"), "w") as f:
        json.dump({"prompts": prompts}, f)
    params = sum(p.numel() for p in model.parameters())
    print(json.dumps({"check": "make-model", "dir": a.out, "parameters": params, "batch": a.batch,
                      "prompt_len": a.prompt_len}), flush=True)


def generate(a):
    import torch
    torch.set_grad_enabled(False)
    model = load_causal_lm(a.model, a.dtype)
    with open(os.path.join(a.model, "prompts.json")) as f:
        prompts = json.load(f)["prompts"][: a.batch]
    ids = torch.tensor(prompts, device="cuda")
    mask = torch.ones_like(ids)

    def run(n):
        out = model.generate(input_ids=ids, attention_mask=mask, max_new_tokens=n, min_new_tokens=n,
                             do_sample=False, pad_token_id=0, use_cache=True)
        torch.cuda.synchronize()
        return out

    run(min(8, a.new_tokens))  # warm-up
    seconds, out = [], None
    for _ in range(a.repeats):
        start = time.perf_counter()
        out = run(a.new_tokens)
        seconds.append(time.perf_counter() - start)
    median = statistics.median(seconds)
    print(json.dumps({"check": "generate", "implementation": "transformers", "device": "cuda", "dtype": a.dtype,
                      "batch": len(prompts), "prompt_len": len(prompts[0]), "new_tokens": a.new_tokens,
                      "median_seconds": median, "tokens_per_second": len(prompts) * a.new_tokens / median,
                      "first_row_tokens": out[0, ids.shape[1]:].tolist()}), flush=True)


def read_lines(path):
    if not os.path.exists(path):
        return []
    out = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line.startswith("{"):
                try:
                    out.append(json.loads(line))
                except json.JSONDecodeError:
                    pass
    return out


def summarize(a):
    out = a.out
    lines = ["# GPU checks", ""]
    steps = os.path.join(out, "steps.tsv")
    if os.path.exists(steps):
        lines += ["| step | status | seconds |", "|---|---|---|"]
        with open(steps) as f:
            for row in f:
                name, status, secs = row.rstrip("\n").split("\t")
                lines.append(f"| {name} | {status} | {secs} |")
        lines.append("")
    # Parity: prlm and transformers, per fixture and dtype, against the fp32 CPU reference.
    rows = {}
    for impl_file in ("parity_prlm_fp32", "parity_prlm_bf16", "parity_hf_fp32", "parity_hf_bf16"):
        for j in read_lines(os.path.join(out, impl_file + ".jsonl")):
            impl = "prlm" if "prlm" in impl_file else "transformers"
            rows.setdefault(j["fixture"], {})[(impl, j["dtype"])] = j["max_abs_diff"]
    if rows:
        lines += ["## Logits on the device vs transformers' fp32 CPU reference (max |difference|)", "",
                  "| fixture | prlm fp32 | transformers fp32 | prlm bf16 | transformers bf16 | bf16 ratio |",
                  "|---|---|---|---|---|---|"]
        for name, r in rows.items():
            def g(k):
                return f"{r[k]:.3g}" if k in r else "-"
            ratio = "-"
            if ("prlm", "bf16") in r and r.get(("transformers", "bf16")):
                ratio = f"{r[('prlm', 'bf16')] / r[('transformers', 'bf16')]:.2f}"
            lines.append(f"| {name} | {g(('prlm', 'fp32'))} | {g(('transformers', 'fp32'))} | "
                         f"{g(('prlm', 'bf16'))} | {g(('transformers', 'bf16'))} | {ratio} |")
        lines.append("")
    for j in read_lines(os.path.join(out, "collectives.jsonl")):
        lines += ["## Collectives", "", "```", json.dumps(j, indent=1), "```", ""]
    gens = read_lines(os.path.join(out, "generate_prlm.jsonl")) + read_lines(os.path.join(out, "generate_hf.jsonl"))
    if gens:
        lines += ["## Greedy generation, same model, prompts and batch", "",
                  "| implementation | dtype | batch | prompt | new tokens | median s | tokens/s |",
                  "|---|---|---|---|---|---|---|"]
        for j in gens:
            lines.append(f"| {j.get('implementation')} | {j['dtype']} | {j['batch']} | {j['prompt_len']} | "
                         f"{j['new_tokens']} | {j['median_seconds']:.3f} | {j['tokens_per_second']:.0f} |")
        if len(gens) == 2:
            a_, b_ = gens
            same = sum(x == y for x, y in zip(a_["first_row_tokens"], b_["first_row_tokens"]))
            lines += ["", f"prlm / transformers tokens/s: {a_['tokens_per_second'] / b_['tokens_per_second']:.2f}; "
                      f"first row's greedy tokens equal at {same} of {len(a_['first_row_tokens'])} positions"]
        lines.append("")
    with open(os.path.join(out, "summary.md"), "w") as f:
        f.write("\n".join(lines) + "\n")
    print("\n".join(lines))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = p.add_subparsers(dest="command", required=True)
    s = sub.add_parser("parity")
    s.add_argument("--fixtures", required=True)
    s.add_argument("--names", required=True)
    s.add_argument("--dtype", choices=DTYPES, default="bf16")
    s = sub.add_parser("make-model")
    s.add_argument("--out", required=True)
    s.add_argument("--batch", type=int, default=16)
    s.add_argument("--prompt-len", type=int, default=128)
    s = sub.add_parser("generate")
    s.add_argument("--model", required=True)
    s.add_argument("--batch", type=int, default=16)
    s.add_argument("--new-tokens", type=int, default=128)
    s.add_argument("--dtype", choices=DTYPES, default="bf16")
    s.add_argument("--repeats", type=int, default=3)
    s = sub.add_parser("summarize")
    s.add_argument("out")
    a = p.parse_args()
    {"parity": parity, "make-model": make_model, "generate": generate, "summarize": summarize}[a.command](a)


if __name__ == "__main__":
    sys.exit(main())
