#!/usr/bin/env python3
"""Writes deterministic test inputs as .npy without numpy: smooth random 28x28 images and labels.

Usage: make_npy.py OUT_DIR COUNT
"""
import random
import struct
import sys


def write_npy(path, descr, shape, payload):
    header = "{'descr': '%s', 'fortran_order': False, 'shape': (%s), }" % (
        descr, "".join(f"{d}, " for d in shape) if len(shape) == 1 else ", ".join(str(d) for d in shape))
    # The header, magic and lengths together are padded to a multiple of 64 bytes, ending in a newline.
    total = 10 + len(header) + 1
    header += " " * ((64 - total % 64) % 64) + "\n"
    with open(path, "wb") as f:
        f.write(b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin1") + payload)


def main():
    out, count = sys.argv[1], int(sys.argv[2])
    rng = random.Random(20261129)
    pixels = []
    for _ in range(count):
        # A few bright blobs on a dark background look more like clothing than white noise does.
        blobs = [(rng.uniform(4, 24), rng.uniform(4, 24), rng.uniform(3, 9), rng.uniform(0.4, 1.0)) for _ in range(3)]
        for y in range(28):
            for x in range(28):
                v = sum(a for (cy, cx, r, a) in blobs if (y - cy) ** 2 + (x - cx) ** 2 <= r * r)
                pixels.append(min(1.0, v + rng.uniform(0, 0.05)))
    labels = [rng.randrange(10) for _ in range(count)]
    write_npy(f"{out}/images.npy", "<f4", (count, 1, 28, 28), struct.pack(f"<{len(pixels)}f", *pixels))
    write_npy(f"{out}/labels.npy", "<i8", (count,), struct.pack(f"<{count}q", *labels))


main()
