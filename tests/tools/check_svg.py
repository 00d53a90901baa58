#!/usr/bin/env python3
"""Checks an SVG chart with Python's own XML parser: well-formed, an <svg>
root in the SVG namespace with a width and height, and every path's data
made of M/L commands with two finite numbers each.

usage: check_svg.py FILE -> prints "WIDTHxHEIGHT PATHS COLOURS" (paths, distinct
stroke colours) and then each <text>'s content on its own line; exits 1
naming the fault otherwise.
"""
import math
import re
import sys
import xml.etree.ElementTree as ET

NS = "{http://www.w3.org/2000/svg}"


def main() -> int:
    try:
        root = ET.parse(sys.argv[1]).getroot()
    except ET.ParseError as e:
        print(f"not well-formed XML: {e}", file=sys.stderr)
        return 1
    if root.tag != NS + "svg" or "width" not in root.attrib or "height" not in root.attrib:
        print(f"root is {root.tag}, not an <svg> with width and height", file=sys.stderr)
        return 1
    paths = root.findall(f".//{NS}path")
    for p in paths:
        for command in re.findall(r"[A-Za-z][^A-Za-z]*", p.attrib.get("d", "")):
            numbers = [float(v) for v in re.split(r"[ ,]+", command[1:].strip()) if v]
            if command[0] not in "ML" or len(numbers) != 2 or not all(math.isfinite(v) for v in numbers):
                print(f"bad path command {command!r}", file=sys.stderr)
                return 1
    colours = {p.attrib["stroke"] for p in paths if "stroke" in p.attrib}
    print(f"{root.attrib['width']}x{root.attrib['height']} {len(paths)} {len(colours)}")
    for t in root.iter(NS + "text"):
        print(t.text or "")
    return 0


if __name__ == "__main__":
    sys.exit(main())
