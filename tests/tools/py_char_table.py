#!/usr/bin/env python3
"""For tests/py_string_test.cc: every code point (surrogates aside) that
str.isspace() or str.isdigit() accepts or that str.upper(), str.lower() or
str.title() changes, one line each:
    CP SPACE DIGIT UPPER LOWER TITLE
(CP and the mappings' code points in hex, a mapping's code points joined by
'.', SPACE and DIGIT 1 or 0). Every code point not listed has neither
property and maps to itself."""
for c in range(0x110000):
    if 0xD800 <= c <= 0xDFFF:
        continue
    ch = chr(c)
    up, low, title = ch.upper(), ch.lower(), ch.title()
    if ch.isspace() or ch.isdigit() or up != ch or low != ch or title != ch:
        hexes = [".".join("%x" % ord(x) for x in m) for m in (up, low, title)]
        print("%x %d %d %s %s %s" % (c, ch.isspace(), ch.isdigit(), *hexes))
