"""Stub of the tokenizers package for hf_ref (see ../hf_ref_compat.py).

transformers' GGUF integration imports it at module level; the reference
scripts never build a tokenizer, so any use of these names raises.
"""
import sys
import types

__version__ = "0.21.0"


class _Unavailable:
    def __init__(self, *args, **kwargs):
        raise RuntimeError("tokenizers is a stub under hf_ref_compat")


Tokenizer = AddedToken = Regex = _Unavailable
for _name in ("decoders", "normalizers", "pre_tokenizers", "processors", "models", "trainers"):
    _sub = types.ModuleType("tokenizers." + _name)
    _sub.__getattr__ = lambda name: _Unavailable
    sys.modules["tokenizers." + _name] = _sub
    globals()[_name] = _sub
