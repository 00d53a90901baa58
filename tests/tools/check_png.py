#!/usr/bin/env python3
"""Checks a PNG file against the PNG specification with Python's own zlib:
signature, every chunk's CRC-32, IHDR, and that the IDAT stream inflates to
height rows of (1 filter byte + width * channels bytes).

usage: check_png.py FILE -> prints "WIDTHxHEIGHT COLOURS" (distinct pixel colours)
exits 1 naming the fault otherwise.
"""
import struct
import sys
import zlib


def main() -> int:
    data = open(sys.argv[1], "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        print("not a PNG signature", file=sys.stderr)
        return 1
    pos, chunks = 8, []
    while pos < len(data):
        (length,) = struct.unpack(">I", data[pos:pos + 4])
        kind = data[pos + 4:pos + 8]
        body = data[pos + 8:pos + 8 + length]
        (crc,) = struct.unpack(">I", data[pos + 8 + length:pos + 12 + length])
        if zlib.crc32(kind + body) & 0xFFFFFFFF != crc:
            print(f"bad CRC in chunk {kind!r} at offset {pos}", file=sys.stderr)
            return 1
        chunks.append((kind, body))
        pos += 12 + length
    if chunks[0][0] != b"IHDR" or chunks[-1][0] != b"IEND":
        print("chunks must start with IHDR and end with IEND", file=sys.stderr)
        return 1
    width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", chunks[0][1])
    if depth != 8 or colour != 2 or interlace != 0:
        print(f"unexpected format: depth {depth}, colour type {colour}, interlace {interlace}", file=sys.stderr)
        return 1
    raw = zlib.decompress(b"".join(body for kind, body in chunks if kind == b"IDAT"))
    stride = 1 + 3 * width
    if len(raw) != height * stride:
        print(f"IDAT inflates to {len(raw)} bytes, expected {height * stride}", file=sys.stderr)
        return 1
    colours = set()
    for y in range(height):
        row = raw[y * stride:(y + 1) * stride]
        if row[0] != 0:
            print(f"row {y}: filter {row[0]} (this checker reads filter 0 only)", file=sys.stderr)
            return 1
        colours.update(row[1 + 3 * x:4 + 3 * x] for x in range(0, width, 3))
    print(f"{width}x{height} {len(colours)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
