"""Lets transformers 4.51 import under Debian's torch 1.13 for hf_ref.

transformers 4.51 imports a few names that torch 1.13 lacks: the module
torch.distributed.tensor, torch.compiler, and the float8 / wide unsigned
dtypes (used as dictionary values for quantized checkpoints). None of them
is reached on the fp32, eager-attention CPU path the reference scripts take;
the stand-ins raise if they ever are. Import this before transformers.

Also on this path: `tokenizers/`, a stub for the Rust tokenizers package
that transformers' GGUF integration imports at module level.
"""
import sys
import types

import torch


class _Absent:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("not available in torch " + torch.__version__ + " (hf_ref_compat stand-in)")


def _module(name, **attrs):
    m = types.ModuleType(name)
    for k, v in attrs.items():
        setattr(m, k, v)
    sys.modules[name] = m
    return m


try:
    import torch.distributed.tensor  # noqa: F401
except ImportError:
    torch.distributed.tensor = _module(
        "torch.distributed.tensor", DTensor=type("DTensor", (), {}), Placement=_Absent, Replicate=_Absent,
        Shard=_Absent, distribute_module=_Absent, distribute_tensor=_Absent)

if not hasattr(torch, "compiler"):
    torch.compiler = _module(
        "torch.compiler", is_compiling=lambda: False, is_exporting=lambda: False,
        disable=lambda fn=None, recursive=True: fn if fn is not None else (lambda f: f))

for _dtype in ("float8_e4m3fn", "float8_e5m2", "uint16", "uint32", "uint64"):
    if not hasattr(torch, _dtype):
        setattr(torch, _dtype, type(_dtype, (), {"__repr__": lambda self, n=_dtype: "torch." + n + " (absent)"})())
