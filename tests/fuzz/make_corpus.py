#!/usr/bin/env python3
"""Writes the seed corpus of the IDX fuzzers: small valid and invalid IDX files, raw and gzip.

Usage: make_corpus.py OUT_DIR

Every file is tiny (the fuzzers run with -max_len 4096) and deterministic (gzip mtime 0),
so a fresh corpus is the same on every machine. Valid files cover ranks 1..4, empty
arrays and MNIST-shaped headers; invalid ones cover each refusal of the reader (magic,
type, rank, truncated header and data, trailing bytes, overflowing and huge dims) and
each gzip failure (cut stream, bad CRC, trailing garbage, concatenated members).
"""
import gzip
import os
import struct
import sys


def idx(dims, data=None, type_byte=0x08, rank=None):
    """Header 00 00 type rank + big-endian dims, then data (a pattern of prod(dims) bytes)."""
    rank = len(dims) if rank is None else rank
    head = bytes([0, 0, type_byte, rank]) + b"".join(struct.pack(">I", d) for d in dims)
    if data is None:
        count = 1
        for d in dims:
            count *= d
        data = bytes((i * 37 + 11) % 256 for i in range(count))
    return head + data


def gz(raw):
    return gzip.compress(raw, compresslevel=9, mtime=0)


def main():
    out = sys.argv[1] if len(sys.argv) > 1 else "corpus"
    os.makedirs(out, exist_ok=True)
    valid = {
        "rank1": idx([5]),
        "rank2": idx([3, 4]),
        "mnist_labels": idx([4], bytes([0, 9, 3, 7])),
        "mnist_images": idx([2, 4, 4]),
        "rank4": idx([2, 1, 3, 2]),
        "empty_rank1": idx([0]),
        "empty_rank3": idx([0, 28, 28]),
        "zero_inner_dim": idx([7, 0, 28]),
    }
    invalid = {
        "empty_file": b"",
        "one_byte": b"\x00",
        "short_magic": b"\x00\x00\x08",
        "wrong_magic": b"\x12\x34\x08\x01" + struct.pack(">I", 1) + b"\x00",
        "type_float": idx([2], bytes(8), type_byte=0x0D),
        "type_unknown": idx([2], type_byte=0x42),
        "rank0": bytes([0, 0, 8, 0]),
        "rank5": idx([1, 1, 1, 1, 1]),
        "truncated_dims": bytes([0, 0, 8, 3]) + struct.pack(">I", 5),
        "truncated_data": idx([2, 3])[:-2],
        "trailing_bytes": idx([4]) + b"\x01\x02\x03",
        "overflow_dims": idx([0xFFFFFFFF] * 4, b""),
        "huge_count": idx([0xFFFFFFFF, 28, 28], bytes(10)),
        "huge_labels": idx([0xFFFFFFFF], bytes(3)),
    }
    files = {}
    for name, raw in {**valid, **invalid}.items():
        files[name] = raw
        if raw:
            files[name + ".gz"] = gz(raw)
    whole = gz(idx([16, 16]))
    files["gz_cut_half.gz"] = whole[: len(whole) // 2]
    files["gz_magic_only.gz"] = whole[:2]
    files["gz_header_only.gz"] = whole[:10]
    bad_crc = bytearray(whole)
    bad_crc[-8] ^= 0xFF
    files["gz_bad_crc.gz"] = bytes(bad_crc)
    bad_size = bytearray(whole)
    bad_size[-1] ^= 0x01
    files["gz_bad_isize.gz"] = bytes(bad_size)
    files["gz_bad_method.gz"] = whole[:2] + b"\x07" + whole[3:]
    files["gz_trailing_garbage.gz"] = whole + b"garbage"
    files["gz_trailing_zeros.gz"] = whole + bytes(4)
    split = idx([3, 5])
    files["gz_two_members.gz"] = gz(split[:9]) + gz(split[9:])
    files["gz_empty_member.gz"] = gz(b"") + gz(idx([2]))
    files["gz_bomb_header.gz"] = gz(idx([0xFFFFFFFF, 28, 28], b"") + bytes(3000))
    for name, content in files.items():
        with open(os.path.join(out, name), "wb") as f:
            f.write(content)
    print(f"{len(files)} seed files in {out}")


if __name__ == "__main__":
    main()
