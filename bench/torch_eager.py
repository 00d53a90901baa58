#!/usr/bin/env python3
"""Baseline for `prlm bench generate`: the same Qwen2 model and workload in an
eager PyTorch loop, written the way Hugging Face transformers' eager path
works (KV cache grown with torch.cat per step, repeat_kv for grouped-query
attention, softmax attention, multinomial sampling). Runs on Debian's
python3-torch; reads the model directory prlm wrote (config.json +
model.safetensors). Prints one JSON object per batch size, like prlm.

usage: torch_eager.py MODEL_DIR [--batch 1,8,32] [--prompt-len 64]
                      [--new-tokens 64] [--repeat 2] [--threads N] [--dtype fp32|bf16]
                      [--lengths uniform|long-tail]

--lengths long-tail: 80% of rows need only 20-40 tokens, 20% the full
--new-tokens; as in a static batch (transformers' generate()), every row runs
until the longest is done, and only the tokens rows need count as generated.
"""
import argparse
import json
import struct
import time

import torch

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16}


def load_safetensors(path):
    with open(path, "rb") as f:
        data = f.read()
    (n,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + n])
    base = 8 + n
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        b, e = info["data_offsets"]
        t = torch.frombuffer(bytearray(data[base + b:base + e]), dtype=DTYPES[info["dtype"]])
        out[name] = t.reshape(info["shape"]).float()
    return out


class Qwen2:
    def __init__(self, model_dir, dtype=torch.float32):
        with open(model_dir + "/config.json") as f:
            self.cfg = json.load(f)
        self.w = {k: v.to(dtype) for k, v in load_safetensors(model_dir + "/model.safetensors").items()}
        self.dtype = dtype
        c = self.cfg
        self.heads, self.kv_heads = c["num_attention_heads"], c["num_key_value_heads"]
        self.hd = c["hidden_size"] // self.heads
        self.layers = c["num_hidden_layers"]
        self.eps = c["rms_norm_eps"]
        self.inv_freq = 1.0 / (c["rope_theta"] ** (torch.arange(0, self.hd, 2, dtype=torch.float64) / self.hd)).float()
        self.lm_head = self.w.get("lm_head.weight", self.w["model.embed_tokens.weight"])

    def rms(self, x, w):  # in fp32, as transformers' Qwen2RMSNorm
        xf = x.float()
        return w * (xf * torch.rsqrt(xf.pow(2).mean(-1, keepdim=True) + self.eps)).to(x.dtype)

    def rope(self, x, cos, sin):
        half = x.shape[-1] // 2
        rot = torch.cat((-x[..., half:], x[..., :half]), dim=-1)
        return x * cos + rot * sin

    def forward(self, ids, pos, mask_bias, cache):
        w = self.w
        B, T = ids.shape
        h = torch.nn.functional.embedding(ids, w["model.embed_tokens.weight"])
        freqs = pos.float()[..., None] * self.inv_freq
        emb = torch.cat((freqs, freqs), -1)[:, None]
        cos, sin = emb.cos().to(self.dtype), emb.sin().to(self.dtype)
        group = self.heads // self.kv_heads
        for i in range(self.layers):
            p = f"model.layers.{i}."
            x = self.rms(h, w[p + "input_layernorm.weight"])
            lin = torch.nn.functional.linear
            q = lin(x, w[p + "self_attn.q_proj.weight"], w[p + "self_attn.q_proj.bias"])
            k = lin(x, w[p + "self_attn.k_proj.weight"], w[p + "self_attn.k_proj.bias"])
            v = lin(x, w[p + "self_attn.v_proj.weight"], w[p + "self_attn.v_proj.bias"])
            q = q.view(B, T, self.heads, self.hd).transpose(1, 2)
            k = k.view(B, T, self.kv_heads, self.hd).transpose(1, 2)
            v = v.view(B, T, self.kv_heads, self.hd).transpose(1, 2)
            q, k = self.rope(q, cos, sin), self.rope(k, cos, sin)
            if cache[i] is not None:
                k = torch.cat((cache[i][0], k), 2)
                v = torch.cat((cache[i][1], v), 2)
            cache[i] = (k, v)
            S = k.shape[2]
            k = k[:, :, None].expand(B, self.kv_heads, group, S, self.hd).reshape(B, self.heads, S, self.hd)
            v = v[:, :, None].expand(B, self.kv_heads, group, S, self.hd).reshape(B, self.heads, S, self.hd)
            scores = torch.matmul(q, k.transpose(2, 3)) / (self.hd ** 0.5) + mask_bias
            probs = torch.softmax(scores.float(), -1).to(self.dtype)
            attn = torch.matmul(probs, v).transpose(1, 2).reshape(B, T, -1)
            h = h + lin(attn, w[p + "self_attn.o_proj.weight"])
            x = self.rms(h, w[p + "post_attention_layernorm.weight"])
            mlp = lin(torch.nn.functional.silu(lin(x, w[p + "mlp.gate_proj.weight"])) * lin(x, w[p + "mlp.up_proj.weight"]),
                      w[p + "mlp.down_proj.weight"])
            h = h + mlp
        return self.rms(h, w["model.norm.weight"])


def run(model, batch, prompt_len, new_tokens, gen, long_tail=False):
    ids = torch.randint(1, model.cfg["vocab_size"], (batch, prompt_len), generator=gen)
    cache = [None] * model.layers
    causal = torch.full((prompt_len, prompt_len), -1e30).triu(1)[None, None].to(model.dtype)
    pos = torch.arange(prompt_len)[None].expand(batch, -1)
    with torch.no_grad():
        t0 = time.perf_counter()
        h = model.forward(ids, pos, causal, cache)
        logits = torch.nn.functional.linear(h[:, -1], model.lm_head)
        prefill = time.perf_counter() - t0
        t0 = time.perf_counter()
        for step in range(new_tokens):
            probs = torch.softmax(logits.float() / 0.7, -1)
            tok = torch.multinomial(probs, 1, generator=gen)
            if step + 1 == new_tokens:
                break
            p = torch.full((batch, 1), prompt_len + step)
            h = model.forward(tok, p, torch.zeros(1, dtype=model.dtype), cache)
            logits = torch.nn.functional.linear(h[:, -1], model.lm_head)
        decode = time.perf_counter() - t0
    useful = batch * new_tokens
    if long_tail:
        useful = sum(new_tokens if torch.randint(0, 5, (1,), generator=gen).item() == 0
                     else 20 + torch.randint(0, 21, (1,), generator=gen).item() for _ in range(batch))
    return batch * prompt_len / prefill, useful / decode


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--batch", default="1,8,32")
    ap.add_argument("--prompt-len", type=int, default=64)
    ap.add_argument("--new-tokens", type=int, default=64)
    ap.add_argument("--repeat", type=int, default=2)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--dtype", choices=["fp32", "bf16"], default="fp32")
    ap.add_argument("--lengths", choices=["uniform", "long-tail"], default="uniform")
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    model = Qwen2(a.model_dir, torch.bfloat16 if a.dtype == "bf16" else torch.float32)
    gen = torch.Generator().manual_seed(0)
    params = sum(t.numel() for n, t in model.w.items())
    run(model, 1, 8, 4, gen)  # warm-up, untimed, as prlm does
    for b in [int(x) for x in a.batch.split(",")]:
        best = [0.0, 0.0]
        for _ in range(a.repeat):
            pf, dc = run(model, b, a.prompt_len, a.new_tokens, gen, a.lengths == "long-tail")
            best = [max(best[0], pf), max(best[1], dc)]
        print(json.dumps({"bench": "generate", "impl": "python3-torch-eager", "model": a.model_dir,
                          "params_m": params / 1e6, "batch": b, "prompt_len": a.prompt_len,
                          "new_tokens": a.new_tokens, "lengths": a.lengths, "threads": torch.get_num_threads(), "dtype": a.dtype,
                          "prefill_tok_s": best[0], "decode_tok_s": best[1]}), flush=True)


if __name__ == "__main__":
    main()
