#!/usr/bin/env python3
"""The matrix-multiply floor of one decode step: the time of a decoder's
linear layers alone (q, k, v, o, gate, up, down per layer, then the LM head)
at M rows, on Debian's python3-torch (the same OpenBLAS prlm's libtorch
calls). A decode step of M sequences cannot be faster than this; the rest of
a step (attention, norms, RoPE, sampling, dispatch) is measured against it.

usage: gemm_floor.py MODEL_DIR [--rows 32] [--threads N] [--steps 100]
"""
import argparse
import json
import time

import torch


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("model_dir")
    ap.add_argument("--rows", type=int, default=32)
    ap.add_argument("--threads", type=int, default=0)
    ap.add_argument("--steps", type=int, default=100)
    a = ap.parse_args()
    if a.threads > 0:
        torch.set_num_threads(a.threads)
    c = json.load(open(a.model_dir + "/config.json"))
    h, i, layers = c["hidden_size"], c["intermediate_size"], c["num_hidden_layers"]
    hd = c.get("head_dim") or h // c["num_attention_heads"]
    q, kv = c["num_attention_heads"] * hd, c["num_key_value_heads"] * hd
    x, xi = torch.randn(a.rows, h), torch.randn(a.rows, i)
    shapes = [(q, h, x), (kv, h, x), (kv, h, x), (h, q, torch.randn(a.rows, q)), (i, h, x), (i, h, x), (h, i, xi)]
    weights = [(torch.randn(o, n), inp) for o, n, inp in shapes]
    head = torch.randn(c["vocab_size"], h)
    lin = torch.nn.functional.linear

    def step():
        for _ in range(layers):
            for w, inp in weights:
                lin(inp, w)
        lin(x, head)

    for _ in range(10):
        step()
    t0 = time.perf_counter()
    for _ in range(a.steps):
        step()
    dt = (time.perf_counter() - t0) / a.steps
    flops = 2 * a.rows * (layers * sum(o * n for o, n, _ in shapes) + c["vocab_size"] * h)
    print(json.dumps({"bench": "gemm_floor", "rows": a.rows, "threads": torch.get_num_threads(),
                      "ms_per_step": dt * 1e3, "gflops": flops / dt / 1e9,
                      "max_decode_tok_s": a.rows / dt}))


if __name__ == "__main__":
    main()
