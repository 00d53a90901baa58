#!/usr/bin/env python3
"""Unpacks Debian packages into a private prefix, as `dpkg -x` would, with
Python alone (the GPU machine has no dpkg guarantee and no registry).

    python3 tests/gpu/unpack_debs.py DEBS_DIR PREFIX

A .deb is an ar archive holding data.tar.{xz,gz,zst}; only data.tar.xz and
data.tar.gz are read (Debian 12 writes xz). Symbolic links that point at
absolute paths are re-pointed inside PREFIX, so the -dev packages' libfoo.so
links resolve there.
"""
import io
import os
import sys
import tarfile


def members(path):
    with open(path, "rb") as f:
        if f.read(8) != b"!<arch>\n":
            sys.exit(f"{path}: not a Debian package (no ar magic)")
        while True:
            header = f.read(60)
            if len(header) < 60:
                return
            name = header[:16].decode().strip().rstrip("/")
            size = int(header[48:58].decode().strip())
            data = f.read(size)
            if size % 2:
                f.read(1)
            yield name, data


def unpack(deb, prefix):
    for name, data in members(deb):
        if name.startswith("data.tar"):
            if name.endswith(".zst"):
                sys.exit(f"{deb}: {name} is zstd, which Python's tarfile cannot read")
            with tarfile.open(fileobj=io.BytesIO(data), mode="r:*") as tar:
                for m in tar.getmembers():
                    if m.issym() and m.linkname.startswith("/"):
                        # /usr/lib/x/libfoo.so.1 -> PREFIX/usr/lib/x/libfoo.so.1, relative.
                        target = os.path.join(prefix, m.linkname.lstrip("/"))
                        m.linkname = os.path.relpath(target, os.path.join(prefix, os.path.dirname(m.name)))
                tar.extractall(prefix)
            return
    sys.exit(f"{deb}: no data.tar member")


def main(debs_dir, prefix):
    debs = sorted(f for f in os.listdir(debs_dir) if f.endswith(".deb"))
    if not debs:
        sys.exit(f"{debs_dir}: no .deb files (make them with tests/gpu/prepare.sh on Debian 12)")
    os.makedirs(prefix, exist_ok=True)
    for d in debs:
        unpack(os.path.join(debs_dir, d), prefix)
    print(f"unpacked {len(debs)} packages into {prefix}")


if __name__ == "__main__":
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    main(sys.argv[1], sys.argv[2])
