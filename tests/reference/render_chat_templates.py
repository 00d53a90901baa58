#!/usr/bin/env python3
"""Reference renderings of chat templates with Jinja2, configured as
transformers' apply_chat_template configures it (ImmutableSandboxedEnvironment,
trim_blocks, lstrip_blocks, the loopcontrols extension, the {% generation %} tag, raise_exception,
strftime_now, and its tojson). Writes one JSON line per template x
conversation x add_generation_prompt (x enable_thinking for templates that
read it): {"template", "conversation", "add_generation_prompt",
"enable_thinking", "text"} or "error" instead of "text". A conversation's
"tools", when it has them, are passed as transformers passes them.

usage: render_chat_templates.py CONVERSATIONS.json OUT.jsonl NAME=TOKENIZER_CONFIG.json...
"""
import json
import sys
from datetime import datetime

import jinja2
import jinja2.ext
from jinja2.sandbox import ImmutableSandboxedEnvironment


def raise_exception(message):
    raise jinja2.exceptions.TemplateError(message)


def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)


def strftime_now(fmt):
    return datetime.now().strftime(fmt)


def token(v):
    return v["content"] if isinstance(v, dict) else v


class GenerationBlock(jinja2.ext.Extension):
    """{% generation %}...{% endgeneration %}: transformers registers this tag
    to find the assistant's tokens; the rendered text is the body, unchanged."""
    tags = {"generation"}

    def parse(self, parser):
        lineno = next(parser.stream).lineno
        body = parser.parse_statements(("name:endgeneration",), drop_needle=True)
        return jinja2.nodes.Scope(body, lineno=lineno)


def main():
    conversations = json.load(open(sys.argv[1]))
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[GenerationBlock, jinja2.ext.loopcontrols])
    env.filters["tojson"] = tojson
    env.globals["raise_exception"] = raise_exception
    env.globals["strftime_now"] = strftime_now
    with open(sys.argv[2], "w") as out:
        for spec in sys.argv[3:]:
            name, path = spec.split("=", 1)
            config = json.load(open(path))
            source = config["chat_template"]
            template = env.from_string(source)
            specials = {k: token(config[k]) for k in ("bos_token", "eos_token", "unk_token", "pad_token",
                                                      "sep_token", "cls_token", "mask_token")
                        if k in config and token(config[k]) is not None}
            thinking = [None, True, False] if "enable_thinking" in source else [None]
            for conv in conversations:
                for gen in (False, True):
                    for think in thinking:
                        ctx = dict(specials, messages=conv["messages"], add_generation_prompt=gen)
                        if "tools" in conv:
                            ctx["tools"] = conv["tools"]
                        if think is not None:
                            ctx["enable_thinking"] = think
                        row = {"template": name, "conversation": conv["name"], "add_generation_prompt": gen,
                               "enable_thinking": think}
                        try:
                            row["text"] = template.render(**ctx)
                        except jinja2.exceptions.TemplateError as e:
                            row["error"] = str(e)
                        except (TypeError, ValueError, AttributeError, KeyError, IndexError) as e:
                            # What Python raises from inside a filter or
                            # method (tojson of an undefined value, say):
                            # apply_chat_template fails with it too.
                            row["error"] = str(e)
                            row["error_type"] = type(e).__name__
                        out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
