#!/usr/bin/env python3
"""An independent reader of TensorBoard event files, written from the format's
documentation (TFRecord framing; TensorFlow's Event and Summary protos), with
no code shared with prlm's writer: its own CRC-32C and its own protobuf
wire-format decoding.

usage: read_tfevents.py FILE   -> one JSON object per event on stdout:
    {"wall_time": W, "step": S, "file_version": V}            (first event)
    {"wall_time": W, "step": S, "scalars": {"tag": value}}    (later ones)
Exits 1 with a message naming the offset on a bad CRC or a truncated record.
"""
import json
import struct
import sys


def crc32c(data: bytes) -> int:
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ 0x82F63B78 if crc & 1 else crc >> 1
    return crc ^ 0xFFFFFFFF


def masked(crc: int) -> int:
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def varint(buf: bytes, pos: int):
    value, shift = 0, 0
    while True:
        b = buf[pos]
        pos += 1
        value |= (b & 0x7F) << shift
        if not b & 0x80:
            return value, pos
        shift += 7


def fields(buf: bytes):
    """Yields (field number, wire type, value) of one message."""
    pos = 0
    while pos < len(buf):
        key, pos = varint(buf, pos)
        number, wire = key >> 3, key & 7
        if wire == 0:
            value, pos = varint(buf, pos)
        elif wire == 1:
            value, pos = buf[pos:pos + 8], pos + 8
        elif wire == 2:
            n, pos = varint(buf, pos)
            value, pos = buf[pos:pos + n], pos + n
        elif wire == 5:
            value, pos = buf[pos:pos + 4], pos + 4
        else:
            raise ValueError(f"wire type {wire}")
        yield number, wire, value


def decode_event(buf: bytes) -> dict:
    event = {"wall_time": 0.0, "step": 0}
    for number, wire, value in fields(buf):
        if number == 1 and wire == 1:
            event["wall_time"] = struct.unpack("<d", value)[0]
        elif number == 2 and wire == 0:
            event["step"] = value - (1 << 64) if value >= 1 << 63 else value
        elif number == 3 and wire == 2:
            event["file_version"] = value.decode()
        elif number == 5 and wire == 2:  # Summary
            scalars = event.setdefault("scalars", {})
            for vnum, vwire, v in fields(value):
                if vnum != 1 or vwire != 2:
                    continue
                tag, simple = None, None
                for f, w, x in fields(v):  # Summary.Value
                    if f == 1 and w == 2:
                        tag = x.decode()
                    elif f == 2 and w == 5:
                        simple = struct.unpack("<f", x)[0]
                if tag is not None and simple is not None:
                    scalars[tag] = simple
    return event


def main() -> int:
    data = open(sys.argv[1], "rb").read()
    pos = 0
    while pos < len(data):
        if pos + 12 > len(data):
            print(f"{sys.argv[1]}: truncated record header at offset {pos}", file=sys.stderr)
            return 1
        header = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", header)
        (header_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if masked(crc32c(header)) != header_crc:
            print(f"{sys.argv[1]}: bad length CRC at offset {pos}", file=sys.stderr)
            return 1
        body = data[pos + 12:pos + 12 + length]
        if len(body) != length or pos + 16 + length > len(data):
            print(f"{sys.argv[1]}: truncated record at offset {pos}", file=sys.stderr)
            return 1
        (body_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if masked(crc32c(body)) != body_crc:
            print(f"{sys.argv[1]}: bad data CRC at offset {pos}", file=sys.stderr)
            return 1
        print(json.dumps(decode_event(body)))
        pos += 16 + length
    return 0


if __name__ == "__main__":
    sys.exit(main())
