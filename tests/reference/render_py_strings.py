#!/usr/bin/env python3
"""Reference renderings of Python's str methods and the filters defined by
them, by Jinja2 as transformers configures it (ImmutableSandboxedEnvironment,
trim_blocks, lstrip_blocks), over a generated corpus of strings: every
character str.isspace() accepts and a few it does not, at the edges and
inside; combining marks; the special casings (ß, ﬁ, ŉ, İ, ı, final and
non-final Σ); title-case digraphs; CJK, emoji and ZWJ sequences; digits
outside ASCII. Each template reads the string as `s` and prints the result
between brackets (lists one item at a time); two put such whitespace in the
template itself, around "-" tags and between a tag's tokens.

Writes one JSON line per template x string: {"template", "s", "text"}, or
"error" (the exception's type) where Jinja2 raises.

usage: render_py_strings.py OUT.jsonl
"""
import json
import sys

from jinja2.sandbox import ImmutableSandboxedEnvironment

SPACES = [chr(c) for c in range(0x110000) if chr(c).isspace()]
NOT_SPACES = ["\u200b", "\ufeff", "\u180e", "\u2060", "_"]

WORDS = [
    "hello World", "HELLO wORLD", "straße", "ﬁne ﬂow", "ŉ", "İstanbul", "ıi", "ΣΑΣ", "ὈΔΥΣΣΕΎΣ", "όσος Σ",
    "Σ", "aΣ", "aΣb", "aΣ.", "a\u0301Σ", "aΣ\u0301", "Σa", "ǅungla ǈ ǋ", "ǆ", "ᾳ ᾼ ᾀ", "ﬀ ﬃ ﬆ",
    "e\u0301le\u0300ve", "日本語 テキスト", "한국어", "emoji 😀 family 👨\u200d👩\u200d👧", "ⓐⓑ ⒶⒷ",
    "they're bill's friends", "o'neil mc-donald (the) [best] {x} <y>", "x-y_z", "123 ²³ ١٢٣ ① ½", "Ǉ-ǉ",
    "ԱԲ աբ", "ꭰꭱ Ꭰ", "ꞵ Ꞵ", "ʰb aʰb", "ß-ß", "\u0345\u0399", "ᏸ", "𐐨𐐀", "Ǳ", "a", "",
]


def corpus():
    out = list(WORDS)
    for c in SPACES + NOT_SPACES:
        out += [c + "hi" + c, c + c + "a" + c + "b" + c + c, "a" + c + "b", c]
    out += ["\u00a0hi\u3000", "\u3000漢字\u3000", "line1\u2028line2\u2029line3\x85line4\r\nline5\rline6\x1cline7",
            "a\n\nb\n", "\n", "tab\there\x0bvt\x0cff"]
    return out


TEMPLATES = [
    "[{{ s.strip() }}]", "[{{ s.lstrip() }}]", "[{{ s.rstrip() }}]", "[{{ s.strip('ab\u00a0Σ') }}]",
    "[{{ s.strip('') }}]", "[{{ s | trim }}]", "[{{ s | trim('h\u3000') }}]",
    "{% for x in s.split() %}[{{ x }}]{% endfor %}", "{% for x in s.split(none, 1) %}[{{ x }}]{% endfor %}",
    "{% for x in s.rsplit() %}[{{ x }}]{% endfor %}", "{% for x in s.rsplit(none, 1) %}[{{ x }}]{% endfor %}",
    "{% for x in s.split(' ') %}[{{ x }}]{% endfor %}", "{% for x in s.split('a', 1) %}[{{ x }}]{% endfor %}",
    "{% for x in s.rsplit('a', 1) %}[{{ x }}]{% endfor %}", "{% for x in s.splitlines() %}[{{ x }}]{% endfor %}",
    "[{{ s.upper() }}]", "[{{ s.lower() }}]", "[{{ s.title() }}]", "[{{ s.capitalize() }}]",
    "[{{ s | upper }}]", "[{{ s | lower }}]", "[{{ s | title }}]", "[{{ s | capitalize }}]",
    "[{{ s.replace('a', 'A') }}]", "[{{ s.replace('', '-') }}]", "[{{ s.replace('', '-', 2) }}]",
    "[{{ s.replace('l', 'L', 1) }}]", "[{{ s | replace('\u00a0', '_') }}]", "[{{ s | replace('l', 'L', 1) }}]",
    "[{{ s.find('a') }} {{ s.find('') }} {{ s.find('a', 2) }} {{ s.find('', 3, 2) }} {{ s.find('b', -3) }}]",
    "[{{ s.count('a') }} {{ s.count('') }} {{ s.count('', 3) }} {{ s.count('a', 1, -1) }}]",
    "[{{ s.startswith('a') }} {{ s.startswith(('x', 'h')) }} {{ s.startswith('', 1) }} {{ s.startswith('b', 2) }}]",
    "[{{ s.endswith('b') }} {{ s.endswith(('i', 'Σ')) }} {{ s.endswith('', 0, 1) }} {{ s.endswith('a', 0, 1) }}]",
    "[{{ s.isdigit() }} {{ s.isspace() }}]", "[{{ s | length }} {{ s | count }}]",
    "[{{ s | indent(2) }}]", "[{{ s | indent(2, true) }}]",
    # The lexer's whitespace: str.isspace() characters around "-" tags and between a tag's tokens.
    "[\u00a0\u3000\n {{- s -}} \u2028\x85\x1cx]", "[\u00a0 {%- if true -%} \u3000{{\u00a0s\u2003}}{%- endif -%}\u2029]",
]


def main():
    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    with open(sys.argv[1], "w") as out:
        for source in TEMPLATES:
            template = env.from_string(source)
            for s in corpus():
                row = {"template": source, "s": s}
                try:
                    row["text"] = template.render(s=s)
                except Exception as e:  # the type is what must agree
                    row["error"] = type(e).__name__
                out.write(json.dumps(row, ensure_ascii=False) + "\n")


if __name__ == "__main__":
    main()
