#!/usr/bin/env python3
"""Writes the architecture and RoPE-scaling fixtures of
tests/transformers_parity_test.cc with Hugging Face transformers' own code.

For each entry of FIXTURES it
  1. builds the model with transformers (`Class._from_config`, fp32, eager
     attention) from the config below, seeded, with every norm weight and bias
     perturbed so that a loader which skips them is caught;
  2. writes config.json (transformers' own `to_json_file`) and the weights
     in bf16 (one model.safetensors, or shards behind model.safetensors.index.json);
  3. loads that directory back (transformers' classes and state-dict names,
     fp32, eager) and writes FIXTURE/expected.safetensors with
       input_ids, attention_mask, position_ids   int64 [2, 16]
       logits                                    fp32  [2, 16, vocab]
       logits_bf16     the same model run in bf16, as fp32 [2, 16, vocab]
     Row 0 runs at positions 0..15. Row 1 is left-padded by 4 and its
     positions start at OFFSET, past original_max_position_embeddings, so
     the scaled frequencies are the ones exercised.

Run it where transformers runs. On this project's CPU machines that is
../shared/tools/hf_ref (its README) with transformers' source at a revision
that has Qwen3 (4.51 or later) and `tests/reference/hf_ref_compat` first on
the path, which fills the few torch>=2 names transformers imports into
Debian's torch 1.13 (none is on the fp32 eager CPU path):

    PYTHONPATH=tests/reference/hf_ref_compat:HF_REF/vendor:HF_REF/stubs:HF_REF \
      /usr/bin/python3 tests/reference/transformers_arch_logits.py tests/fixtures

The scaled configs keep max_position_embeddings = factor x
original_max_position_embeddings: transformers 4.51 derives yarn's factor
from that ratio when original_max_position_embeddings is given, later
releases read `factor`; with the two equal both readings agree.
"""
import json
import os
import sys

import hf_ref_compat  # noqa: F401  (must precede transformers)
import torch
import transformers
from safetensors.torch import load_file, save_file
from transformers import AutoModelForCausalLM, LlamaConfig, DecoderConfig, Qwen3Config

SEQ, PAD, OFFSET = 16, 4, 40

SMALL = dict(vocab_size=256, hidden_size=64, intermediate_size=96, num_hidden_layers=2,
             num_attention_heads=4, num_key_value_heads=2, initializer_range=0.2,
             rms_norm_eps=1e-6, torch_dtype="float32")

# name -> (config class, config fields, weights layout)
FIXTURES = {
    # Qwen3: explicit head_dim (32, not hidden/heads = 16), q_norm/k_norm, tied.
    "qwen3-tied": (Qwen3Config, dict(head_dim=32, tie_word_embeddings=True, max_position_embeddings=128,
                                     use_sliding_window=False, sliding_window=None), "single"),
    "qwen3-yarn": (Qwen3Config, dict(head_dim=16, tie_word_embeddings=False, max_position_embeddings=128,
                                     use_sliding_window=False, sliding_window=None, rope_theta=1000.0,
                                     rope_scaling={"rope_type": "yarn", "factor": 4.0,
                                                   "original_max_position_embeddings": 32}), "single"),
    "qwen2-yarn": (DecoderConfig, dict(tie_word_embeddings=False, max_position_embeddings=64,
                                     use_sliding_window=False, sliding_window=None,
                                     rope_scaling={"type": "yarn", "factor": 2.0,
                                                   "original_max_position_embeddings": 32}), "single"),
    # Llama-3 shape (GQA, no bias, untied), in two shards behind an index.
    "llama-untied": (LlamaConfig, dict(tie_word_embeddings=False, max_position_embeddings=64,
                                       rope_theta=500000.0), "shards"),
    "llama-linear": (LlamaConfig, dict(tie_word_embeddings=True, max_position_embeddings=64,
                                       rope_scaling={"type": "linear", "factor": 2.0}), "single"),
    # Dynamic NTK: positions reach 40 + 11 > max_position_embeddings 32. Biases on.
    "llama-dynamic": (LlamaConfig, dict(tie_word_embeddings=False, max_position_embeddings=32,
                                        attention_bias=True, mlp_bias=True,
                                        rope_scaling={"rope_type": "dynamic", "factor": 2.0}), "single"),
    "llama-llama3": (LlamaConfig, dict(tie_word_embeddings=True, max_position_embeddings=256,
                                       rope_scaling={"rope_type": "llama3", "factor": 8.0,
                                                     "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                                                     "original_max_position_embeddings": 32}), "single"),
    # DeepSeek-style yarn: mscale / mscale_all_dim and explicit betas.
    "llama-yarn": (LlamaConfig, dict(tie_word_embeddings=False, max_position_embeddings=128,
                                     rope_theta=100.0,
                                     rope_scaling={"rope_type": "yarn", "factor": 4.0,
                                                   "original_max_position_embeddings": 32,
                                                   "beta_fast": 8.0, "beta_slow": 0.5,
                                                   "mscale": 1.0, "mscale_all_dim": 0.5}), "single"),
}


def build(cls, fields, seed):
    torch.manual_seed(seed)
    config = cls(**SMALL, **fields)
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager", torch_dtype=torch.float32)
    with torch.no_grad():
        for name, p in model.named_parameters():
            if "norm" in name or name.endswith(".bias"):
                p.add_(0.1 * torch.randn_like(p))
    return model.eval()


def write_weights(model, d, layout):
    state = {k: v.detach().contiguous() for k, v in model.state_dict().items()}
    if model.config.tie_word_embeddings:
        state.pop("lm_head.weight", None)
    # bf16, as checkpoints are published (the reference runs on the same rounded values).
    state = {k: v.to(torch.bfloat16) for k, v in state.items()}
    if layout == "single":
        save_file(state, os.path.join(d, "model.safetensors"), metadata={"format": "pt"})
        return
    # Split in two shards by layer, behind an index.
    shards = {"model-00001-of-00002.safetensors": {}, "model-00002-of-00002.safetensors": {}}
    for k, v in state.items():
        second = k.startswith("model.layers.1.") or k.startswith("lm_head") or k == "model.norm.weight"
        shards[list(shards)[1 if second else 0]][k] = v
    weight_map = {}
    for file, tensors in shards.items():
        save_file(tensors, os.path.join(d, file), metadata={"format": "pt"})
        weight_map.update({k: file for k in tensors})
    total = sum(v.numel() * 2 for v in state.values())
    with open(os.path.join(d, "model.safetensors.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": dict(sorted(weight_map.items()))}, f, indent=2)


def load(cls, d):
    """The model as transformers builds it from d's config.json, with d's weights
    (upcast to fp32) loaded strictly: only a tied lm_head may be absent.

    (This revision's from_pretrained needs the accelerate package, which Debian
    does not have; the weights go through the same state-dict names.)"""
    config = cls.from_json_file(os.path.join(d, "config.json"))
    model = AutoModelForCausalLM.from_config(config, attn_implementation="eager", torch_dtype=torch.float32)
    index = os.path.join(d, "model.safetensors.index.json")
    files = sorted(set(json.load(open(index))["weight_map"].values())) if os.path.exists(index) else ["model.safetensors"]
    state = {}
    for f in files:
        state.update({k: v.float() for k, v in load_file(os.path.join(d, f)).items()})
    missing, unexpected = model.load_state_dict(state, strict=False)
    allowed = {"lm_head.weight"} if config.tie_word_embeddings else set()
    if unexpected or set(missing) - allowed:
        sys.exit(f"{d}: missing {missing}, unexpected {unexpected}")
    model.tie_weights()
    if config.tie_word_embeddings:
        assert model.lm_head.weight.data_ptr() == model.model.embed_tokens.weight.data_ptr()
    return model.eval()


def inputs(vocab, seed):
    g = torch.Generator().manual_seed(seed)
    ids = torch.randint(5, vocab - 1, (2, SEQ), generator=g)
    mask = torch.ones(2, SEQ, dtype=torch.long)
    mask[1, :PAD] = 0
    ids[1, :PAD] = 0
    pos = (mask.cumsum(1) - 1).clamp(min=0)
    pos[1] += OFFSET * mask[1]
    return ids, mask, pos


def main(root):
    torch.set_grad_enabled(False)
    for i, (name, (cls, fields, layout)) in enumerate(FIXTURES.items()):
        d = os.path.join(root, name)
        os.makedirs(d, exist_ok=True)
        for f in os.listdir(d):
            os.remove(os.path.join(d, f))
        model = build(cls, fields, 100 + i)
        model.config.to_json_file(os.path.join(d, "config.json"))
        write_weights(model, d, layout)
        # The reference is what transformers computes from the files just written.
        loaded = load(cls, d)
        ids, mask, pos = inputs(loaded.config.vocab_size, 7 + i)
        logits = loaded(input_ids=ids, attention_mask=mask, position_ids=pos).logits.float().contiguous()
        # The same in bf16: how far transformers' own bf16 lands from its fp32,
        # the yardstick for prlm's bf16.
        logits_bf16 = loaded.to(torch.bfloat16)(input_ids=ids, attention_mask=mask,
                                                position_ids=pos).logits.float().contiguous()
        save_file({"input_ids": ids, "attention_mask": mask, "position_ids": pos, "logits": logits,
                   "logits_bf16": logits_bf16},
                  os.path.join(d, "expected.safetensors"), metadata={"transformers": transformers.__version__})
        real = mask.bool().unsqueeze(-1).expand_as(logits)
        bf16_diff = float((logits_bf16 - logits).abs().masked_select(real).max())
        print(f"{name}: logits {tuple(logits.shape)} max|x| {float(logits.abs().max()):.3f} "
              f"bf16 max|diff| {bf16_diff:.4f} "
              f"(transformers {transformers.__version__}, torch {torch.__version__})")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures")
