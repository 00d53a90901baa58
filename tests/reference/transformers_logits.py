#!/usr/bin/env python3
"""Writes the logits Hugging Face transformers computes for prlm's committed
tiny models, the reference of tests/transformers_parity_test.cc.

Run where transformers is installed (the GPU machine; no network needed):
    python3 tests/reference/transformers_logits.py tests/fixtures
For each fixture model it writes FIXTURE/expected.safetensors with
  input_ids, attention_mask   int64 [2, 12] (row 1 left-padded by 4)
  logits                      fp32  [2, 12, vocab]    (Qwen2 fixtures)
  last_hidden_state, pooler   fp32                    (BERT fixture)
computed in fp32 on CPU with the eager attention implementation.
"""
import os
import sys

import torch
from safetensors.torch import save_file
from transformers import AutoModel, AutoModelForCausalLM


def inputs(vocab, pad_left, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab - 1, (2, 12), generator=g)
    mask = torch.ones(2, 12, dtype=torch.long)
    mask[1, :pad_left] = 0
    ids[1, :pad_left] = 0
    return ids, mask


def main(root):
    torch.set_grad_enabled(False)
    for name in ("qwen2-untied", "qwen2-tied"):
        d = os.path.join(root, name)
        model = AutoModelForCausalLM.from_pretrained(d, torch_dtype=torch.float32,
                                                     attn_implementation="eager").eval()
        ids, mask = inputs(model.config.vocab_size, 4, 7)
        # Positions as prlm computes them for left padding: cumsum(mask) - 1.
        pos = (mask.cumsum(1) - 1).clamp(min=0)
        logits = model(input_ids=ids, attention_mask=mask, position_ids=pos).logits
        save_file({"input_ids": ids, "attention_mask": mask, "logits": logits.float().contiguous()},
                  os.path.join(d, "expected.safetensors"))
        print(name, "logits", tuple(logits.shape), float(logits.abs().max()))
    d = os.path.join(root, "bert-tiny")
    model = AutoModel.from_pretrained(d, torch_dtype=torch.float32, attn_implementation="eager").eval()
    ids, mask = inputs(model.config.vocab_size, 0, 8)
    mask[1, 8:] = 0  # BERT batches are right-padded
    out = model(input_ids=ids, attention_mask=mask, token_type_ids=torch.zeros_like(ids))
    save_file({"input_ids": ids, "attention_mask": mask,
               "last_hidden_state": out.last_hidden_state.contiguous(),
               "pooler": out.pooler_output.contiguous()},
              os.path.join(d, "expected.safetensors"))
    print("bert-tiny hidden", tuple(out.last_hidden_state.shape))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures")
